"""`sessiontape keys|verify|inspect|sessions`: exit codes and one-line errors, real files."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from agent.config import load_config
from agent.testing import FakeClock
from tests.cli.clirun import run, run_main
from tests.journals import flip_byte, write_session


def test_keys_init_creates_0600_keys_and_prints_the_fingerprint(tmp_path: Path) -> None:
    """Private key and KEK files are 0600 in a 0700 directory; the key id is printed."""
    home = tmp_path / "h"
    r = run("keys", "init", home=home)
    assert r.code == 0, r.err
    assert "signing key ed25519:" in r.out
    for f in list((home / "keys" / "signing").glob("*.pem")) + list(
        (home / "keys" / "kek").glob("*.key")
    ):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home / "keys" / "signing").st_mode) == 0o700
    again = run("keys", "init", home=home)
    assert again.code == 0 and again.out.startswith("exists")


def _session(tmp_path: Path) -> Path:
    home = tmp_path / "h"
    run("keys", "init", home=home)
    write_session(home, load_config(env={}), FakeClock(), segments=2)
    return home


def test_verify_passes_a_clean_session_and_json_reports_every_check(tmp_path: Path) -> None:
    """Exit 0 and a JSON report listing the named checks for each segment."""
    home = _session(tmp_path)
    r = run("verify", "--json", "--decrypt", home=home)
    assert r.code == 0, r.err
    rep = json.loads(r.out)
    assert rep["ok"] is True and len(rep["segments"]) == 2
    names = {c["name"] for c in rep["segments"][0]["checks"]}
    assert {"format", "chain", "headers", "checkpoint", "seal", "key", "decrypt"} <= names


def test_verify_a_tampered_chunk_exits_1_naming_chunk_and_seq(tmp_path: Path) -> None:
    """A flipped ciphertext byte: exit 1, one line naming the check, chunk and seq range."""
    home = _session(tmp_path)
    seg = sorted((home / "journals").rglob("*.stj"))[0]
    flip_byte(seg, "idx = 2", offset=10, mask=0xFF)
    r = run("verify", str(seg), home=home)
    assert r.code == 1
    assert "verification FAILED" in r.err and "chain" in r.err and "chunk 2" in r.err
    assert "seq " in r.err


def test_verify_session_id_resolves_in_home(tmp_path: Path) -> None:
    """A bare session id (or unique prefix) verifies that session's directory."""
    home = _session(tmp_path)
    sid = next((home / "journals").iterdir()).name
    assert run("verify", sid[:12], home=home).code == 0
    bad = run("verify", "nosuchsession", home=home)
    assert bad.code == 2 and "unknown session 'nosuchsession'" in bad.err


def test_bad_inputs_give_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    """Missing file, non-SQLite file, truncated segment, wrong version: exit 2, no traceback."""
    home = _session(tmp_path)
    seg = sorted((home / "journals").rglob("*.stj"))[0]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    trunc = tmp_path / "trunc.stj"
    trunc.write_bytes(seg.read_bytes()[:3000])
    wrongv = tmp_path / "v9.stj"
    wrongv.write_bytes(seg.read_bytes())
    con = sqlite3.connect(wrongv)
    con.execute("PRAGMA user_version=9")
    con.commit()
    con.close()
    cases = {
        str(tmp_path / "missing.stj"): "no such file",
        str(text): "not a sessiontape segment",
        str(trunc): "trunc.stj",
        str(wrongv): "format version 9 is not supported",
    }
    for path, needle in cases.items():
        r = run("verify", path, home=home)
        assert r.code == 2, (path, r.out, r.err)
        assert needle in (r.out + r.err), (path, r.err)
        r2 = run("inspect", path, home=home)
        assert r2.code == 2 and r2.err.count("\n") == 1 and needle.split()[0] in r2.err, r2.err


def test_truncated_segment_inside_the_state_dir_is_a_failed_verification(
    tmp_path: Path,
) -> None:
    """Found in the state dir (whole dir or its session): exit 1 naming the file and the
    truncation; ``sessions`` calls the session damaged, not closed. Named explicitly as a
    file, it stays an input error (exit 2)."""
    home = _session(tmp_path)
    seg = sorted((home / "journals").rglob("*.stj"))[1]
    size = seg.stat().st_size
    with open(seg, "r+b") as f:
        f.truncate(3000)
    want = (
        f"verification FAILED: {seg}: format: unreadable SQLite file "
        f"(truncated: 3000 bytes on disk, its database header says {size})"
    )
    for args in ((), (seg.parent.name,)):
        r = run("verify", *args, home=home)
        assert r.code == 1, (args, r.err)
        assert r.err.strip() == want
    assert run("verify", str(seg), home=home).code == 2
    s = run("sessions", home=home)
    assert s.out.splitlines()[0].endswith("  damaged")
    assert f"{seg}  damaged: unreadable SQLite file (truncated: 3000 bytes" in s.out
    (info,) = json.loads(run("sessions", "--json", home=home).out)
    assert info["damaged"] is True and info["closed"] is False


def test_counter_check_names_a_deleted_middle_session(tmp_path: Path) -> None:
    """Three sessions by one agent; the middle one deleted: the per-agent segment counters
    have a hole, and verify of the state dir fails ``counter`` naming it."""
    home = tmp_path / "h"
    run("keys", "init", home=home)
    cfg, clock = load_config(env={}), FakeClock()
    for _ in range(3):
        write_session(home, cfg, clock, segments=1)
        clock.advance_s(5)
    assert run("verify", home=home).code == 0
    sessions = sorted(p for p in (home / "journals").iterdir())
    middle = next(sessions[1].glob("*.stj"))
    con = sqlite3.connect(f"file:{middle}?mode=ro", uri=True)
    (genesis,) = con.execute("SELECT genesis FROM segment WHERE id = 1").fetchone()
    con.close()
    g = json.loads(genesis)
    for f in sessions[1].iterdir():
        f.unlink()
    sessions[1].rmdir()
    r = run("verify", home=home)
    assert r.code == 1
    assert r.err.strip() == (
        f"verification FAILED: counter: agent {g['agent_id']}: segment counters "
        f"[{g['agent_counter']}] missing"
    )


def test_verify_without_any_trusted_key_is_a_clear_error(tmp_path: Path) -> None:
    """No keys in home and no --trust: exit 2 with the fix in the message."""
    r = run("verify", str(tmp_path), home=tmp_path / "empty")
    assert r.code == 2 and "keys init" in r.err


def test_inspect_prints_metadata_and_counts_by_kind(tmp_path: Path) -> None:
    """inspect shows the genesis, seal and per-kind counts without decrypting."""
    home = _session(tmp_path)
    seg = sorted((home / "journals").rglob("*.stj"))[0]
    r = run("inspect", "--json", str(seg), home=home)
    assert r.code == 0
    info = json.loads(r.out)
    assert info["kinds"]["session.start"] == 1 and info["kinds"]["clock.tick"] == 30
    assert info["sealed"] is True and info["seal"]["reason"] == "rotated"
    assert "wrapped_dek" not in info["genesis"]


def test_sessions_lists_sessions_with_segments_and_state(tmp_path: Path) -> None:
    """sessions --json lists id, user, times, segment paths and sealed state."""
    home = _session(tmp_path)
    r = run("sessions", "--json", home=home)
    assert r.code == 0
    (s,) = json.loads(r.out)
    assert s["closed"] is True and s["sealed"] is True and len(s["segments"]) == 2
    assert s["start_utc_ns"] > 0 and s["user"]
    human = run("sessions", home=home)
    assert s["session_id"] in human.out and "closed" in human.out


def test_bad_config_is_one_line_naming_key_and_file(tmp_path: Path) -> None:
    """A config typo stops the command with the key and the file named."""
    cfgf = tmp_path / "c.toml"
    cfgf.write_text("[journal]\nrotate_secs = 5\n")
    r = run("--config", str(cfgf), "sessions", home=tmp_path / "h")
    assert r.code == 2 and "journal.rotate_secs: unknown key" in r.err and str(cfgf) in r.err


def test_unknown_command_and_flag_are_usage_errors(tmp_path: Path) -> None:
    """Unknown commands/flags exit 2 with click's usage message."""
    assert run("frobnicate", home=tmp_path).code == 2
    assert run("verify", "--nope", home=tmp_path).code == 2


def _shipped_with_checkpoints(tmp_path: Path) -> tuple[Path, str, Path]:
    """(home, vault URL, vault root): a session whose checkpoints were shipped while it was
    open, then sealed and shipped whole, to a real file vault through ``ship --once``."""
    home = tmp_path / "h"
    run("keys", "init", home=home)
    root = tmp_path / "vault"
    url = f"file://{root}"
    env = {"SESSIONTAPE_VAULT_URL": url}
    j = write_session(home, load_config(env={}), FakeClock(), segments=2, close=False)
    assert run("ship", "--once", home=home, env=env).code == 0  # checkpoints of segment 1
    j.close()
    assert run("ship", "--once", home=home, env=env).code == 0
    assert list((root / "objects" / "checkpoints").rglob("*.obj.json"))
    return home, url, root


def test_verify_vault_passes_a_shipped_session(tmp_path: Path) -> None:
    home, url, _ = _shipped_with_checkpoints(tmp_path)
    r = run("verify", "--vault", url, home=home)
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1].startswith("verified: 2 segments, every check passed")


def test_verify_vault_fails_a_vault_checkpoint_with_a_bad_signature(tmp_path: Path) -> None:
    """The file vault is software-enforced: anyone with write access to its directory can
    replace a stored object, as a hostile write would. Its checkpoint's signature byte is
    flipped in place (local copy untouched): verify --vault fails naming the object."""
    home, url, root = _shipped_with_checkpoints(tmp_path)
    sidecar = next((root / "objects" / "checkpoints").rglob("*.obj.json"))
    key = sidecar.relative_to(root / "objects").as_posix().removesuffix(".obj.json")
    digest = json.loads(sidecar.read_text())["sha256"]
    blob = root / "blobs" / digest[:2] / digest
    doc = json.loads(blob.read_bytes())
    sig = bytearray(base64.b64decode(doc["signature_b64"]))
    sig[0] ^= 0x01
    doc["signature_b64"] = base64.b64encode(bytes(sig)).decode()
    blob.chmod(0o644)
    blob.write_text(json.dumps(doc))
    r = run("verify", "--vault", url, home=home)
    assert r.code == 1
    assert f"FAIL vault: {key}: signature of the vault checkpoint does not verify" in r.out
    assert r.err.startswith(
        f"verification FAILED: vault: {key}: signature of the vault checkpoint does not verify"
    )


def test_sessions_and_verify_show_the_link_between_sessions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sessions`` says which session a linked one follows; ``verify`` prints the checked
    link, and exits 1 naming a forged one."""
    from agent.journal.journal import Journal
    from agent.journal.session import PreviousSession, SessionMeta

    home = tmp_path / "h"
    cfg = load_config(env={})
    clock = FakeClock()
    a = write_session(home, cfg, clock, segments=1)
    link = PreviousSession(a.session_id, a.seal_hashes[-1], "restart")
    b = Journal.open(home, cfg, clock=clock, meta=SessionMeta("u", "w", previous=link))
    b.close()
    code, out, _ = run_main(capsys, "--home", str(home), "sessions")
    assert code == 0
    (line,) = [x for x in out.splitlines() if x.startswith(b.session_id)]
    assert line.endswith(f"closed  after {a.session_id}")
    code, out, _ = run_main(capsys, "--home", str(home), "verify", str(home / "journals"))
    assert code == 0
    assert (
        f"OK   link: session {b.session_id} follows session {a.session_id} (restart): its last "
        "seal matches"
    ) in out.splitlines()
    forged = PreviousSession(a.session_id, "00" * 32, "restart")
    c = Journal.open(home, cfg, clock=clock, meta=SessionMeta("u", "w", previous=forged))
    c.close()
    code, out, err = run_main(capsys, "--home", str(home), "verify", str(home / "journals"))
    assert code == 1
    assert f"FAIL link: session {c.session_id} follows session {a.session_id} (restart): " in out
    assert "forged or altered link" in err
