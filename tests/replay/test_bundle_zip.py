"""Unpacking a .zip bundle refuses members that escape, symbolic links and zip bombs."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from agent.errors import InputError
from agent.replay import bundle_zip
from agent.replay.bundle_zip import unzip_bundle


def _zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return path


def test_a_member_escaping_the_target_is_refused(tmp_path: Path) -> None:
    """``../x`` never lands outside the destination."""
    z = _zip(tmp_path / "b.zip", [("manifest.json", b"{}"), ("../evil", b"x")])
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(InputError, match="escapes the bundle"):
        unzip_bundle(z, dest)
    assert not (tmp_path / "evil").exists()


def test_a_symbolic_link_member_is_refused(tmp_path: Path) -> None:
    """A member stored as a link (to /etc/passwd, say) is not followed or created."""
    link = zipfile.ZipInfo("keys/deks.json")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = _zip(tmp_path / "b.zip", [("manifest.json", b"{}"), (link, b"/etc/passwd")])
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(InputError, match="is a symbolic link"):
        unzip_bundle(z, dest)
    assert not (dest / "keys" / "deks.json").exists()


def test_an_archive_unpacking_past_the_limit_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The declared sizes are summed first: nothing is written when they exceed the limit."""
    monkeypatch.setattr(bundle_zip, "MAX_UNPACKED_BYTES", 1000)
    z = _zip(tmp_path / "b.zip", [("manifest.json", b"{}"), ("big", b"\0" * 5000)])
    dest = tmp_path / "d"
    dest.mkdir()
    with pytest.raises(InputError, match="unpacks to 5002 bytes"):
        unzip_bundle(z, dest)
    assert list(dest.iterdir()) == []
