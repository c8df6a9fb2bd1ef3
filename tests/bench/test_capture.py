"""``sessiontape bench capture``: one short real run of every workload under every arm (no
recorder, the full agent, rrweb 2.2.2, Playwright tracing), and its usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.bench.capture import ARMS, iter_lines, plan
from agent.bench.peer import RRWEB_UMD
from agent.bench.workloads import AGGRID_JS, WORKLOADS
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
        assert case["arms"]["rrweb"]["raw_json_bytes"] >= case["arms"]["rrweb"]["window_bytes"]
        assert case["arms"]["tracing"]["zip_bytes"] > 0
        assert case["rrweb_raw_over_ours"] > 0
    assert got["workloads"]["blotter"]["arms"]["sessiontape"]["changes_captured_pct"] > 90
    assert got["machine"]["cores"] and got["machine"]["chromium"] != "unknown"
    table = "\n".join(iter_lines(got))
    for name in WORKLOADS:
        assert f"\n{name} " in table


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
