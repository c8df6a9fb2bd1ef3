"""Re-driving the recorded demo session in real Chromium, screenshots compared with the
recording's rendered moments: against the same demo app every step matches (five times in a
row); against the staging variant the report names each divergence
at its step and nothing else; a masked field without a ``--fill`` value "needs value"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from agent.demo_app.data import DEMO_SECRETS
from agent.demo_app.staging import STAGING_MOVED, STAGING_REST_BUTTON, STAGING_WS_CONFIRM
from agent.demo_app.threaded import DemoAppThread
from agent.redrive.drive import Options
from agent.redrive.result import MATCH, NEEDS_VALUE, RedriveReport
from agent.redrive.run import redrive
from tests.cli.clirun import run_main
from tests.redrive.conftest import Recorded

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/lib/chromium/chromium"


LIVE = ["@numbers"]
"""The demo's blotter, positions and counters tick: their figures legitimately differ."""


def _run(rec: Recorded, base_url: str, fill: dict[str, str]) -> RedriveReport:
    opts = Options(base_url, fill=fill, executable=CHROMIUM, ignore=LIVE)
    return asyncio.run(redrive(rec.plan, opts))


def _divergent(rep: RedriveReport) -> dict[str, list[str]]:
    return {s.text: s.divergences for s in rep.steps if s.status != MATCH}


@pytest.mark.timeout(1800)  # five re-drives; the original moments are drawn in the first
def test_same_app_every_step_matches_five_times_in_a_row(recorded: Recorded) -> None:
    """Every action of the session re-runs and compares equal, its screen included; four more
    runs agree (no flakiness)."""
    verbs = {s.action.verb for s in recorded.plan.steps}
    assert {"navigate", "type", "select", "click", "submit", "popup", "dialog", "download"} <= verbs
    for _ in range(5):
        with DemoAppThread() as app:
            rep = _run(recorded, app.url, recorded.fill())
        assert _divergent(rep) == {}, _divergent(rep)
        assert rep.exit_code == 0
        assert len(rep.steps) == len(recorded.plan.steps)
        (rest,) = [
            s for s in rep.steps if s.text == "clicked button 'Send (REST)' in 'Order ticket'"
        ]
        assert rest.strategy == "id" and rest.element_text == "Send (REST)"
        assert rest.pixel_ratio is not None and rest.screen is not None
        assert "Send (REST)" in rest.region_text
        assert {"method": "POST", "path": "/api/orders", "status": "2xx"} in rest.requests
        (lookup,) = [s for s in rep.steps if s.text == "submitted form 'Client lookup'"]
        assert lookup.follows and {"method": "POST", "path": "/api/lookup", "status": "2xx"} in (
            lookup.requests
        )
        # the popup's Confirm click is in the plan when the recorder caught it before the
        # popup closed itself: every order the recorded session placed is placed again
        popup_confirm = "clicked button 'Confirm' in 'Confirm big order'"
        placed = 2 + sum(1 for s in recorded.plan.steps if s.action.text == popup_confirm)
        assert len(app.orders) == placed
        assert len(app.lookups) == 1 and app.lookups[0].found


@pytest.mark.timeout(900)
def test_staging_divergences_are_named_at_their_steps_and_nothing_else(
    recorded: Recorded,
) -> None:
    """With screens compared: the trading page's screen differs where it loads (the renamed
    and the moved button show from then on, and are not named again at later steps); the
    extra confirmation is named at the WS order's click (accepted, the order still goes); the
    renamed button diverges by its text (found by id); the moved lookup button is found by
    its id and named as moved at its click; cancel-all by its 500 and the console error the
    browser logs for it; the link whose id changed is found by role and name and matches;
    the slower lookup is waited for and matches; every other step matches."""
    with DemoAppThread(staging=True) as app:
        rep = _run(recorded, app.url, recorded.fill())
    bad = _divergent(rep)
    sign_in = "clicked button 'Sign in' in 'Demo Brokerage'"
    look_up = "clicked button 'Look up' in 'Client lookup'"
    assert set(bad) == {
        sign_in,
        "clicked button 'Send (WS)' in 'Order ticket'",
        "clicked button 'Send (REST)' in 'Order ticket'",
        look_up,
        "clicked button 'Cancel all' in 'Order ticket'",
    }, "; ".join(f"{k}: {v}" for k, v in bad.items())
    assert len(bad[sign_in]) == 1 and bad[sign_in][0].startswith("screen differs (")
    assert bad["clicked button 'Send (WS)' in 'Order ticket'"] == [
        f"unexpected dialog: confirm {STAGING_WS_CONFIRM!r} (accepted)"
    ]
    assert bad["clicked button 'Send (REST)' in 'Order ticket'"] == [
        f"element text {STAGING_REST_BUTTON!r}, recorded 'Send (REST)'"
    ]
    assert len(bad[look_up]) == 1 and bad[look_up][0].startswith("element moved: at ")
    (moved,) = [s for s in rep.steps if s.text == look_up]
    assert moved.strategy == "id" and STAGING_MOVED == "#lookup-submit"
    cancel = bad["clicked button 'Cancel all' in 'Order ticket'"]
    assert cancel[0] == "POST /api/cancel_all: 5xx, recorded 2xx"
    assert all(d.startswith("new console error: ") and "500" in d for d in cancel[1:])
    (link,) = [s for s in rep.steps if s.text == "clicked link 'Download report (CSV)'"]
    assert link.status == MATCH and link.strategy == "role + name"
    (lookup,) = [s for s in rep.steps if s.text == "submitted form 'Client lookup'"]
    assert {"method": "POST", "path": "/api/lookup", "status": "2xx"} in lookup.requests
    assert [lk.found for lk in app.lookups] == [DEMO_SECRETS["account"]]
    assert rep.exit_code == 1


@pytest.mark.timeout(900)
def test_cli_masked_field_without_fill_needs_value(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a value for the Notes token the notes step "needs value" and only it
    diverges (the lookup still finds the client); exit 1; JSON, JUnit and HTML name it."""
    fill = tmp_path / "qa.toml"
    fill.write_text(
        "".join(
            f"{json.dumps(k)} = {json.dumps(v)}\n"
            for k, v in recorded.fill(without="Notes").items()
        )
    )
    out = tmp_path / "out"
    with DemoAppThread() as app:
        code, stdout, err = run_main(
            capsys, "--home", str(recorded.home), "redrive", recorded.session_id,
            "--base-url", app.url, "--fill", str(fill), "--out", str(out),
            "--junit", str(tmp_path / "ci.xml"), "--ignore", "@numbers",
        )  # fmt: skip
        found = [lk.found for lk in app.lookups]
    assert code == 1, err
    assert found == [DEMO_SECRETS["account"]]  # the rest of the session still ran
    report = json.loads((out / "report.json").read_text())
    assert report["version"] == 2 and report["session_integrity"] == "verified"
    bad = [s for s in report["steps"] if s["status"] != MATCH]
    assert [(s["text"].split(" into ")[1], s["status"]) for s in bad] == [
        ("'Notes' in 'Client lookup'", NEEDS_VALUE)
    ]
    assert "no --fill entry for 'Notes'" in bad[0]["divergences"][0]
    assert "1 of" in stdout and "needs value" in stdout
    suite = ET.parse(tmp_path / "ci.xml").getroot()
    assert suite.get("failures") == "1" and suite.get("tests") == str(len(report["steps"]))
    assert (out / "junit.xml").read_text() == (tmp_path / "ci.xml").read_text()
    page = (out / "report.html").read_text()
    assert "needs value" in page and "src='data:image/png;base64," in page
