"""``sessiontape bench capture``: one short real run of every workload under every arm (no
recorder, the full agent, rrweb 2.2.2, Playwright tracing), and its usage errors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.bench.busy import BusySample
from agent.bench.capture import ARMS, iter_lines, plan
from agent.bench.capture_arms import ArmRun, thread_cpu_s, unrecorded
from agent.bench.capture_child import arm_from_json, arm_to_json, run_isolated
from agent.bench.peer import RRWEB_UMD
from agent.bench.workloads import AGGRID_JS, WORKLOADS
from agent.capture.browser import browser_args
from agent.capture.config import CaptureConfig
from agent.errors import CaptureError
from tests.cli.clirun import run_main


@pytest.mark.browser
def test_one_short_run_measures_every_workload_under_every_arm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each workload x arm has busy ms per update and updates from the page; each recording
    arm stored bytes; the agent's CPU and its journal are measured; the blotter's changes
    are in our journal."""
    if not RRWEB_UMD.is_file() or not AGGRID_JS.is_file():
        pytest.skip("rrweb or ag-grid-community not installed in recorder_js/node_modules")
    code, out, err = run_main(
        capsys, "--home", str(tmp_path), "bench", "capture", "--runs", "1", "--seconds", "0.6",
        "--warmup", "0.3", "--large", "0", "--json",
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert set(got["workloads"]) == set(WORKLOADS)
    for name, case in got["workloads"].items():
        assert set(case["arms"]) == set(ARMS), name
        for arm, a in case["arms"].items():
            assert a["ms_per_update"] > 0 and a["updates"][0] > 0, (name, arm)
            if arm != "none":
                assert a["busy_ratio"] > 0 and a["bytes_per_hour"] > 0, (name, arm)
                assert a["stored_bytes"] > 0 and a["bytes_per_update"] > 0, (name, arm)
        ours = case["arms"]["sessiontape"]
        assert ours["agent_cpu_pct"] > 0 and ours["file_bytes"] >= ours["window_bytes"] > 0
        assert ours["agent_cpu_ms_per_update"] > 0 and ours["agent_cpu_pct_at_base_rate"] > 0
        parts = [ours[f"agent_cpu_ms_per_update_{p}"] for p in ("loop", "journal", "other")]
        assert parts[0] > 0 and parts[1] > 0, parts  # the loop and the writer both worked
        # the parts (one run: no medians) add up to the process's CPU (rounded to 1 µs each)
        stream = ours.get("agent_cpu_ms_per_update_stream", 0.0)
        assert sum(parts) + stream == pytest.approx(ours["agent_cpu_ms_per_update"], abs=0.005)
        assert case["arms"]["rrweb"]["raw_json_bytes"] >= case["arms"]["rrweb"]["window_bytes"]
        assert case["arms"]["tracing"]["zip_bytes"] > 0
        assert case["rrweb_raw_over_ours"] > 0
    assert got["workloads"]["blotter"]["arms"]["sessiontape"]["changes_captured_pct"] > 90
    assert got["machine"]["cores"] and got["machine"]["chromium"] != "unknown"
    table = "\n".join(iter_lines(got))
    for name in WORKLOADS:
        assert f"\n{name} " in table


def _bench_browser_argv() -> list[list[str]]:
    """The command lines of the running browser processes whose profile is a benchmark's."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = [a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            continue  # the process ended while we looked
        ours = any(a.startswith("--user-data-dir=") and "sessiontape-bench-" in a for a in argv)
        if ours and not any(a.startswith("--type=") for a in argv):  # the browser, not a child
            found.append(argv)
    return found


@pytest.mark.browser
def test_the_unrecorded_arms_run_the_agents_own_browser_command_line() -> None:
    """none, rrweb and tracing run Chromium with exactly the switches the agent's browser gets
    (none of Playwright's defaults), so that a ratio against ``none`` measures the recording
    and not a difference of command lines."""
    cfg = CaptureConfig()

    async def argv_of_running() -> list[list[str]]:
        async with unrecorded(cfg):
            return _bench_browser_argv()

    found = asyncio.run(argv_of_running())
    assert len(found) == 1, found
    argv = found[0]
    profile = next(a.split("=", 1)[1] for a in argv if a.startswith("--user-data-dir="))
    expected = browser_args(
        cfg, headless=True, user_data_dir=Path(profile), as_root=os.geteuid() == 0
    )
    assert argv[1:] == expected
    assert "--enable-automation" not in argv  # one of Playwright's own defaults


def test_plan_adds_the_large_blotter_with_the_agent_arm_only() -> None:
    """--large measures the blotter again at that size: none and sessiontape."""
    cases = plan(["blotter", "form"], ["rrweb"], 200, 1000)
    assert [(c.key, c.cells, c.arms) for c in cases] == [
        ("blotter", 200, ("none", "sessiontape", "rrweb")),
        ("form", 200, ("none", "sessiontape", "rrweb")),
        ("blotter_1000", 1000, ("none", "sessiontape")),
    ]
    assert [c.key for c in plan(["aggrid"], [], 200, 1000)] == ["aggrid"]


@pytest.mark.parametrize(
    ("flag", "value", "named"),
    [("--workloads", "blotter,spreadsheet", "spreadsheet"), ("--peers", "rrweb,har", "har")],
)
def test_an_unknown_workload_or_peer_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, named: str
) -> None:
    """Exit 2 before any browser starts, naming the unknown name."""
    code, _, err = run_main(capsys, "--home", str(tmp_path), "bench", "capture", flag, value)
    assert code == 2
    assert named in err


def test_an_arm_run_crosses_the_process_boundary_unchanged() -> None:
    run = ArmRun(
        BusySample(task_ms=812.5, updates=77, wall_ms=4001.2, probe_delta=None),
        stored_bytes=66_123,
        stored_s=4.0012,
        stored_updates=77,
        agent_cpu_pct=3.91,
        agent_cpu_ms=156.4,
        changes_captured_pct=100.0,
        extra={"file_bytes": 190_000, "window_bytes": 66_123, "run_s": 9.5},
    )
    assert arm_from_json(json.loads(json.dumps(arm_to_json(run)))) == run


def test_the_agent_arms_process_refuses_a_bad_spec_and_the_parent_says_which_arm_failed() -> None:
    child = subprocess.run(
        [sys.executable, "-m", "agent.bench.capture_child"],
        input=b'{"workload": "blotter"}',
        capture_output=True,
        check=False,
    )
    assert child.returncode == 1 and child.stdout == b""
    assert b"bad arm spec on stdin: 'config'" in child.stderr
    with pytest.raises(CaptureError, match="sessiontape arm's own process exited with 1 on 'form'"):
        asyncio.run(run_isolated({"workload": "form"}))


def test_an_agent_arm_that_runs_too_long_is_stopped_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[asyncio.subprocess.Process] = []
    spawn = asyncio.create_subprocess_exec

    async def recording_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        proc = await spawn(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(asyncio, "create_subprocess_exec", recording_spawn)
    spec = {"workload": "form", "seconds": 0, "warmup": 0}
    with pytest.raises(CaptureError, match="'form' did not finish within 0.01 s; stopped"):
        asyncio.run(run_isolated(spec, timeout_s=0.01))
    assert started[0].returncode == -9  # killed, not left running


def test_thread_cpu_is_read_per_named_agent_thread() -> None:
    """A thread named as the journal writer that burns CPU shows under ``journal``; a thread
    of another name is not counted as any part."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    writer = threading.Thread(target=spin, name="journal-writer")
    stranger = threading.Thread(target=spin, name="somebody-else")
    writer.start()
    stranger.start()
    try:
        first = thread_cpu_s()
        deadline = first["journal"] + 0.05
        while thread_cpu_s()["journal"] < deadline:  # waits on the thread's own CPU clock
            time.sleep(0.01)
    finally:
        stop.set()
        writer.join()
        stranger.join()
    assert {"loop", "journal"} <= set(first) <= {"loop", "journal", "stream"}  # no stranger
