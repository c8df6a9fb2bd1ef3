"""kill -9 of a real recording (agent and Chromium) at seeded random points: recovery keeps
every acknowledged event, verify passes as ``recovered``, the crash is a ``capture.gap``; and
the harness's checks fail when any of that is not so."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.bench.crash import COUNTER, check_records, read_acks, run_bench
from agent.events import Record
from agent.journal.reader import iter_records
from agent.keys import Keyring
from tests.cli.clirun import run_main

SEEDS = (11, 12, 13)


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Three recordings killed at seeded random points, recovered and checked by the harness."""
    workdir = tmp_path_factory.mktemp("crash")
    result = run_bench(len(SEEDS), seed=SEEDS[0], window_s=2.0, workdir=workdir)
    return workdir, result


def _records(home: Path) -> list[Record]:
    keyring = Keyring.load(home)
    return [r for p in sorted(home.glob("journals/*/*.stj")) for r in iter_records(p, keyring)]


def test_kill_9_at_random_points_keeps_every_acknowledged_event_and_records_the_gap(
    killed: tuple[Path, dict[str, Any]],
) -> None:
    """Every point passes every check: acked seqs and events present, recovered, gap last."""
    _, result = killed
    assert result["failures"] == []
    assert result["passed"] == result["points"] == len(SEEDS)
    for run in result["runs"]:
        assert run["acked_through"] > 0 and run["events"] > run["acked_through"]
        assert run["loss_ms"] is not None


def test_the_killed_session_passes_verify_decrypt_as_recovered(
    killed: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`sessiontape verify --decrypt` after the kill and recovery: exit 0, status recovered."""
    workdir, _ = killed
    code, out, _ = run_main(
        capsys, "--home", str(workdir / f"home-{SEEDS[0]}"), "verify", "--decrypt", "--json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["ok"] is True
    assert report["segments"][-1]["status"] == "recovered"


def test_the_checks_name_an_acknowledged_event_that_is_missing(
    killed: tuple[Path, dict[str, Any]],
) -> None:
    """Drop one acknowledged record from a real recovered session: the harness says so."""
    workdir, _ = killed
    seed = SEEDS[1]
    records = _records(workdir / f"home-{seed}")
    acks = read_acks(workdir / f"acks-{seed}.jsonl")
    gap = records[-1]
    t_kill = int(gap.payload["start"]) + 1
    assert check_records(records, acks, t_kill) == []
    victim = next(
        i for i, r in enumerate(records) if (r.kind, r.t_utc_ns, r.t_mono_ns) in acks.events
    )
    renumbered = [replace(r, seq=i) for i, r in enumerate(records[:victim] + records[victim + 1 :])]
    found = check_records(renumbered, acks, t_kill)
    assert any("acknowledged events missing" in f for f in found), found


def test_the_checks_name_a_missing_crash_gap_and_a_hole_in_the_counter(
    killed: tuple[Path, dict[str, Any]],
) -> None:
    """No gap record, a counter value or all of them removed, a kill outside the gap: each is
    reported."""
    workdir, _ = killed
    seed = SEEDS[2]
    records = _records(workdir / f"home-{seed}")
    acks = read_acks(workdir / f"acks-{seed}.jsonl")
    t_kill = int(records[-1].payload["start"]) + 1
    assert check_records(records[:-1], acks, t_kill) == [
        "the last record is not a capture.gap (agent_crash)"
    ]
    counters = [
        i
        for i, r in enumerate(records)
        if r.kind == "rrweb.mutation"
        and any(COUNTER.match(str(t["value"])) for t in r.payload["data"].get("texts", []))
    ]
    middle = counters[len(counters) // 2]
    holed = [replace(r, seq=i) for i, r in enumerate(records[:middle] + records[middle + 1 :])]
    assert any("counter values missing" in f for f in check_records(holed, acks, t_kill))
    kept = [r for i, r in enumerate(records) if i not in set(counters)]
    uncounted = [replace(r, seq=i) for i, r in enumerate(kept)]
    assert "no counter value in the journal" in check_records(uncounted, acks, t_kill)
    late = int(records[-1].payload["end"]) + 1
    assert "the kill is not inside the crash gap" in check_records(records, acks, late)
