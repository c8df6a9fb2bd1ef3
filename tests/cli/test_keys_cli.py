"""`sessiontape keys rotate | list | export-public | trust` with real keys and real journals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import load_config
from agent.testing import FakeClock
from tests.cli.clirun import run_main
from tests.journals import write_session


def _cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    return run_main(capsys, "--home", str(home), *args)


def _keys(capsys: pytest.CaptureFixture[str], home: Path) -> dict[str, list[str]]:
    code, out, err = _cli(capsys, home, "keys", "list", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data.pop("backend") == f"file ({home / 'keys'})"
    ids: dict[str, list[str]] = data
    return ids


def test_rotate_signing_key_and_kek_old_journals_still_verify(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    """After rotating both keys, a journal written before still verifies and decrypts, a new
    one is signed by the new key, and list shows old and new."""
    cfg = load_config(env={})
    old = write_session(home, cfg, FakeClock())
    before = _keys(capsys, home)
    code, out, _ = _cli(capsys, home, "keys", "rotate")
    assert code == 0 and out.startswith("new current signing key: ed25519:")
    new_signing = out.split(": ", 1)[1].strip()
    code, out, _ = _cli(capsys, home, "keys", "rotate", "--kek")
    assert code == 0 and out.startswith("new current KEK: ")
    after = _keys(capsys, home)
    assert new_signing not in json.dumps(before) and new_signing in json.dumps(after)
    for kind in ("signing", "kek", "trusted"):
        assert set(before[kind]) < set(after[kind]), kind  # every old key kept, one new per kind
    code, out, err = _cli(capsys, home, "verify", "--decrypt", old.session_id)
    assert code == 0, err
    clock = FakeClock()
    clock.advance_s(3600)
    new = write_session(home, cfg, clock)
    code, out, err = _cli(capsys, home, "verify", "--decrypt", new.session_id)
    assert code == 0, err
    assert f"key {new_signing}" in out


def test_export_public_makes_a_trust_store_for_offline_verify(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    """The exported directory alone verifies the journals (``verify --trust``); an empty
    trust directory does not."""
    sid = write_session(home, load_config(env={}), FakeClock()).session_id
    _cli(capsys, home, "keys", "rotate")
    trust = tmp_path / "usb" / "trust"
    code, out, _ = _cli(capsys, home, "keys", "export-public", str(trust))
    assert code == 0 and out.strip() == f"wrote 2 public keys to {trust}"
    assert len(list(trust.glob("*.pub"))) == 2
    code, _, err = _cli(capsys, home, "verify", "--trust", str(trust), sid)
    assert code == 0, err
    other = tmp_path / "other-trust"
    other.mkdir()
    (other / "x.txt").write_text("not a key")
    code, _, err = _cli(capsys, home, "verify", "--trust", str(other), sid)
    assert code == 2 and "no trusted public keys" in err


def test_trust_adds_another_agents_key(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    """A journal signed by another agent fails ``key`` until its exported key is trusted."""
    other = tmp_path / "other"
    sid = write_session(other, load_config(env={}), FakeClock()).session_id
    segments = str(other / "journals" / sid)
    pubs = tmp_path / "other-pubs"
    assert _cli(capsys, other, "keys", "export-public", str(pubs))[0] == 0
    (pub,) = pubs.glob("*.pub")
    code, _, err = _cli(capsys, home, "verify", segments)
    assert code == 1
    assert f"key: checkpoint signed by untrusted key ed25519:{pub.stem}" in err
    code, out, _ = _cli(capsys, home, "keys", "trust", str(pub))
    kid = f"ed25519:{pub.stem}"
    assert code == 0 and out.strip() == f"trusted {kid}"
    assert kid in _keys(capsys, home)["trusted"]
    code, _, err = _cli(capsys, home, "verify", segments)
    assert code == 0, err
    bad = tmp_path / "bad.pub"
    bad.write_text("zz" * 32)
    code, _, err = _cli(capsys, home, "keys", "trust", str(bad))
    assert code == 2 and err.strip() == f"sessiontape: error: {bad}: not an Ed25519 public key"
