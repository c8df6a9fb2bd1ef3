"""The re-drive is kept as a sealed session of its own: after ``sessiontape redrive`` the
session the report names exists, verifies, lists in ``sessions`` and links to the original
(``redrive_of`` in ``redrive.start``), with one ``redrive.step`` per step and the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.demo_app.threaded import DemoAppThread
from agent.journal.store import find_session
from agent.redrive.plan import origin_of, path_of
from agent.replay.session import ReplaySession
from tests.cli.clirun import run_main
from tests.redrive.conftest import Recorded

pytestmark = pytest.mark.browser


def _events(home: Path, session_id: str) -> list[tuple[str, dict[str, object]]]:
    rs = ReplaySession.open(home, session_id)
    try:
        first, last = rs.seq_range
        assert first is not None and last is not None
        return [(r.kind, r.payload) for r in rs.records(first, last)]
    finally:
        rs.close()


def test_redrive_is_a_sealed_session_linked_to_the_original(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill = tmp_path / "qa.toml"
    fill.write_text("".join(f"{json.dumps(k)} = {json.dumps(v)}\n"
                            for k, v in recorded.fill().items()))  # fmt: skip
    widget = next(
        origin_of(str(r.payload["url"]))
        for r in recorded.plan.records
        if r.kind == "net.request" and path_of(str(r.payload["url"])) == "/widget"
    )
    out = tmp_path / "out"
    with DemoAppThread(api=False) as app:
        code, stdout, err = run_main(
            capsys, "--home", str(recorded.home), "redrive", recorded.session_id,
            "--base-url", app.url, "--map", f"{widget}={origin_of(app.widget_url)}",
            "--fill", str(fill), "--stub-network", "--out", str(out),
        )  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert code == (0 if report["ok"] else 1), stdout + err
    rid = report["redrive_session"]
    assert rid and rid != recorded.session_id and f"recorded as session {rid}" in stdout
    assert report["modes"]["stub_network"] is True and report["modes"]["speed"] == "asap"
    assert rid in (out / "report.html").read_text()
    assert "unmatched (aborted): GET /download/report.csv" in (out / "report.html").read_text()

    sdir = find_session(recorded.home, rid).segments[0].path.parent
    code, _out, err = run_main(capsys, "--home", str(recorded.home), "verify", str(sdir))
    assert code == 0, err
    code, listing, _err = run_main(capsys, "--home", str(recorded.home), "sessions", "--json")
    assert rid in {s["session_id"] for s in json.loads(listing)}

    events = _events(recorded.home, rid)
    kinds = [k for k, _p in events]
    assert kinds[0] == "session.start" and kinds[-1] == "session.end"
    start = next(p for k, p in events if k == "redrive.start")
    assert start["redrive_of"] == recorded.session_id and start["integrity"] == "verified"
    assert start["base_url"] == app.url and start["stub_network"] is True
    steps = [p for k, p in events if k == "redrive.step"]
    assert [s["index"] for s in steps] == [s["index"] for s in report["steps"]]
    assert [s["status"] for s in steps] == [s["status"] for s in report["steps"]]
    end = next(p for k, p in events if k == "redrive.end")
    assert end["redrive_of"] == recorded.session_id and end["ok"] is report["ok"]
    assert end["counts"] == report["counts"]
