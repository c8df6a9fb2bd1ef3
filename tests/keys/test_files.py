"""The file key store refuses key files another account owns or could read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.errors import KeyMaterialError
from agent.keys import Keyring
from tests.cli.clirun import run


def _signing_file(home: Path) -> Path:
    (pem,) = (home / "keys" / "signing").glob("*.pem")
    return pem


def test_new_key_files_are_0600_in_0700_directories(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    for d in (home, home / "keys", home / "keys" / "signing", home / "keys" / "kek"):
        assert oct(d.stat().st_mode & 0o777) == "0o700", d
    for f in [*(home / "keys" / "signing").iterdir(), *(home / "keys" / "kek").iterdir()]:
        assert oct(f.stat().st_mode & 0o777) == "0o600", f


def test_a_0644_signing_key_is_refused_by_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    pem = _signing_file(home)
    pem.chmod(0o644)
    r = run("keys", "init", home=home)
    assert (r.code, r.err) == (
        2,
        f"sessiontape: error: {pem}: signing key file has mode 0644; other users can read it "
        "(need 0600)\n",
    )


def test_a_group_readable_kek_is_refused_when_unwrapping(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kr = Keyring.load_or_init(home)
    kid, wrapped = kr.wrap_dek(b"\1" * 32)
    (kek,) = (home / "keys" / "kek").glob("*.key")
    kek.chmod(0o640)
    with pytest.raises(KeyMaterialError) as info:
        kr.unwrap_dek(kid, wrapped, where="seg")
    assert info.value.message == (
        f"{kek}: KEK file has mode 0640; other users can read it (need 0600)"
    )


def test_a_key_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    pem = _signing_file(home)
    os.chown(pem, 65534, 65534)
    with pytest.raises(KeyMaterialError) as info:
        Keyring.load(home).signer()
    assert info.value.message == (
        f"{pem}: signing key file is owned by uid 65534, not by the running user (uid 0)"
    )
