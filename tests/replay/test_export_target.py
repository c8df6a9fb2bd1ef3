"""``export --out TARGET --force``: only a bundle this tool wrote is ever replaced; the state
directory, its parents and anything inside it are refused outright (exit 2, nothing deleted)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from agent.audit import audit_records
from agent.replay.export_target import MARKER
from agent.testing import FakeClock
from tests.cli.clirun import run_main
from tests.journals import write_session


@pytest.fixture
def session(home: Path) -> str:
    return write_session(home, clock=FakeClock(), segments=2).session_id


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its SHA-256."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _export(
    capsys: pytest.CaptureFixture[str], home: Path, session: str, out: Path
) -> tuple[int, str, str]:
    return run_main(capsys, "--home", str(home), "export", session, "--out", str(out), "--force")


def test_force_at_the_state_dir_is_refused_and_deletes_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, session: str, tmp_path: Path
) -> None:
    assert _export(capsys, home, session, tmp_path / "first")[0] == 0  # an audit record exists
    before = _tree(home)
    assert any(p.startswith("keys/signing/") for p in before)
    assert any(p.startswith("keys/kek/") for p in before)
    audits = audit_records(home, "audit.export")
    assert len(audits) == 1

    for target, why in (
        (home, "it is the state directory"),
        (home.parent, f"it contains the state directory {home.resolve()}"),
        (home / "journals" / session, f"it is inside the state directory {home.resolve()}"),
        (Path("/"), "it is the filesystem root"),
        (Path.home(), "it is the user's home directory"),
    ):
        code, _, err = _export(capsys, home, session, target)
        assert code == 2, err
        assert err.strip() == f"sessiontape: error: {target}: refusing to export there: {why}"
    assert _tree(home) == before
    assert audit_records(home, "audit.export") == audits


def test_force_at_an_unrelated_folder_keeps_it(
    capsys: pytest.CaptureFixture[str], home: Path, session: str, tmp_path: Path
) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a bundle\n")
    (folder / "manifest.json").write_text('{"v": 1}\n')  # a lookalike without the marker
    code, _, err = _export(capsys, home, session, folder)
    assert code == 2
    assert f"{folder}: --force replaces only a bundle written by sessiontape export" in err
    assert f"it has no {MARKER} marker; nothing was deleted" in err
    assert (folder / "notes.txt").read_text() == "not a bundle\n"
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "notes.txt"]


def test_force_with_a_copied_marker_but_foreign_manifest_is_refused(
    capsys: pytest.CaptureFixture[str], home: Path, session: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "b"
    assert _export(capsys, home, session, bundle)[0] == 0
    (bundle / "manifest.json").write_text('{"v": 1, "tool": "other"}\n')
    code, _, err = _export(capsys, home, session, bundle)
    assert code == 2
    assert "its manifest.json is not a sessiontape bundle manifest" in err
    assert (bundle / "manifest.json").read_text() == '{"v": 1, "tool": "other"}\n'


def test_force_replaces_a_previous_bundle(
    capsys: pytest.CaptureFixture[str], home: Path, session: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "case-42"
    assert _export(capsys, home, session, bundle)[0] == 0
    (bundle / "stale.txt").write_text("left from before\n")
    first = (bundle / "manifest.json").read_bytes()
    code, out, err = _export(capsys, home, session, bundle)
    assert code == 0, err
    assert f"-> {bundle}" in out
    assert not (bundle / "stale.txt").exists()
    assert (bundle / "manifest.json").read_bytes() != first  # a new export (new custody time)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".st-")]
    code, out, _ = run_main(capsys, "--home", str(home), "verify", str(bundle))
    assert code == 0, out


def test_force_replaces_only_a_bundle_zip(
    capsys: pytest.CaptureFixture[str], home: Path, session: str, tmp_path: Path
) -> None:
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("manifest.json", '{"v": 1}')
    kept = other.read_bytes()
    code, _, err = _export(capsys, home, session, other)
    assert code == 2
    assert f"the zip has no {MARKER} marker" in err
    assert other.read_bytes() == kept

    bundle = tmp_path / "case.zip"
    assert _export(capsys, home, session, bundle)[0] == 0
    first = bundle.read_bytes()
    assert _export(capsys, home, session, bundle)[0] == 0
    assert bundle.read_bytes() != first
    with zipfile.ZipFile(bundle) as z:
        assert MARKER in z.namelist()


def test_a_target_under_a_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], home: Path, session: str, tmp_path: Path
) -> None:
    f = tmp_path / "a-file"
    f.write_text("x")
    code, _, err = run_main(capsys, "--home", str(home), "export", session, "--out", f"{f}/b")
    assert code == 2
    assert err.strip() == f"sessiontape: error: {f}/b: cannot write a bundle there: File exists"
    assert f.read_text() == "x"


def test_verify_bundle_of_a_missing_path_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nope"
    code, _, err = run_main(capsys, "--home", str(home), "verify-bundle", str(missing))
    assert code == 2
    assert err.strip() == f"sessiontape: error: {missing}: no such file or directory"
