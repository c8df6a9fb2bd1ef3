"""CLI: `ship --once`, `ship status --json`, `ship dispose`, `hold add|list|release`, help text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.clirun import run_main as run
from tests.journals import write_session


def test_ship_once_then_status_json(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SESSIONTAPE_VAULT_URL picks the vault; status counts shipped bytes."""
    write_session(home)
    monkeypatch.setenv("SESSIONTAPE_VAULT_URL", f"file://{tmp_path}/v")
    code, out, _ = run(capsys, "--home", str(home), "ship", "--once")
    assert code == 0 and out.startswith("shipped 1, quarantined 0, retrying 0, checkpoints ")
    assert out.rstrip().endswith(f"-> file://{tmp_path}/v")
    code, out, _ = run(capsys, "--home", str(home), "ship", "status", "--json")
    st = json.loads(out)
    seg = next(home.glob("journals/*/*.stj"))
    assert (st["shipped"]["count"], st["shipped"]["bytes"]) == (1, seg.stat().st_size)
    assert (st["pending"]["count"], st["quarantined"]["count"], st["paused"]) == (0, 0, None)


def test_ship_once_exits_1_when_a_segment_fails_verification(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A flipped byte in a sealed segment: quarantined, exit 1, named on stderr."""
    write_session(home)
    seg = next(home.glob("journals/*/*.stj"))
    data = bytearray(seg.read_bytes())
    data[-200] ^= 0x01
    seg.write_bytes(bytes(data))
    code, out, err = run(capsys, "--home", str(home), "ship", "--once")
    assert code == 1 and out.startswith("shipped 0, quarantined 1")
    assert err.startswith("sessiontape: error: ship: 1 segment(s) quarantined: segments/")
    assert seg.exists()


def test_ship_once_exits_2_when_the_bucket_has_no_object_lock(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, s3_env: str
) -> None:
    """Posture failure: one clear line, exit 2, nothing shipped, nothing deleted."""
    from tests.ship.conftest import make_bucket

    write_session(home)
    monkeypatch.setenv("SESSIONTAPE_VAULT_URL", f"s3://{make_bucket(lock=False)}/x")
    code, _, err = run(capsys, "--home", str(home), "ship", "--once")
    assert code == 2
    assert err.startswith("sessiontape: error: shipping paused: primary vault s3://")
    assert "Object Lock is not enabled" in err and len(err.strip().splitlines()) == 1
    assert len(list(home.glob("journals/*/*.stj"))) == 1


def test_hold_add_list_release(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The hold commands round-trip and report object counts."""
    j = write_session(home)
    run(capsys, "--home", str(home), "ship", "--once")
    code, out, _ = run(
        capsys, "--home", str(home), "hold", "add", "--matter", "SEC-9", "--session", j.session_id
    )
    assert code == 0 and out.strip().endswith("object(s) held")
    assert int(out.split(": ")[1].split()[0]) >= 2  # segment + receipt (+ checkpoints)
    code, out, _ = run(capsys, "--home", str(home), "hold", "list", "--json")
    assert [h["matter"] for h in json.loads(out)] == ["SEC-9"]
    code, out, _ = run(
        capsys,
        "--home",
        str(home),
        "hold",
        "release",
        "--matter",
        "SEC-9",
        "--session",
        j.session_id,
    )
    assert code == 0 and out.startswith(f"released SEC-9 on {j.session_id}")
    code, out, err = run(
        capsys,
        "--home",
        str(home),
        "hold",
        "release",
        "--matter",
        "SEC-9",
        "--session",
        j.session_id,
    )
    assert code == 2 and "no active hold" in err


def test_dispose_records_nothing_before_retention(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Freshly shipped objects are years from disposition."""
    write_session(home)
    run(capsys, "--home", str(home), "ship", "--once")
    code, out, _ = run(capsys, "--home", str(home), "ship", "dispose", "--yes")
    assert (code, out) == (0, "0 disposition record(s)\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["ship"],
        ["ship", "status"],
        ["ship", "dispose"],
        ["ship", "reverify"],
        ["hold", "add"],
        ["hold", "release"],
        ["hold", "list"],
        ["agent"],
    ],
)
def test_every_ship_command_help_ends_with_an_example(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--help text ends with an Example: line."""
    code, out, _ = run(capsys, *argv, "--help")
    lines = [x for x in out.splitlines() if x.strip() and not x.strip().startswith(("╰", "│", "╭"))]
    assert code == 0
    assert any(x.strip().startswith("Example: ") for x in lines[-8:]), out


def test_hold_on_an_unknown_session_exits_2_naming_it(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """No objects anywhere and not recorded here: one line, exit 2, nothing held."""
    vault = f"file://{tmp_path}/v"
    argv = ["--home", str(home), "hold", "add", "--matter", "SEC-9", "--session", "nope-1"]
    code, out, err = run(
        capsys, *argv[:2], "--config", str(_vault_config(tmp_path, vault)), *argv[2:]
    )
    assert code == 2 and out == ""
    assert err == f"sessiontape: error: no session nope-1 in {vault} or this home ({home})\n"
    code, out, _ = run(capsys, "--home", str(home), "hold", "list", "--json")
    assert json.loads(out) == []


def test_dispose_json_lists_records_and_expired_objects(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ship dispose --json``: the records written and the expired objects (none yet)."""
    write_session(home)
    run(capsys, "--home", str(home), "ship", "--once")
    code, out, _ = run(capsys, "--home", str(home), "ship", "dispose", "--json")
    assert code == 0 and json.loads(out) == {"records": [], "expired": []}


def _vault_config(tmp_path: Path, vault_url: str) -> Path:
    f = tmp_path / "vault.toml"
    f.write_text(f'[ship]\nvault_url = "{vault_url}"\n')
    return f
