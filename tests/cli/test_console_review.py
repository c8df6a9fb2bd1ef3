"""``sessiontape console review sample|list`` over a real home: sealed sessions, the index,
the console database and the sealed audit journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.audit import audit_records
from agent.config import Config
from agent.index.indexer import index_new_segments
from agent.journal.session import SessionMeta
from agent.testing import FakeClock
from tests.cli.clirun import run_main
from tests.journals import write_scripted_session

NAV = ("page.navigate", {"url": "https://mail.personal.test/inbox", "main_frame": True}, "P")
OMS = ("page.navigate", {"url": "https://oms.firm.test/", "main_frame": True}, "P")


def _cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    return run_main(capsys, "--home", str(home), "console", "review", *args)


def _home(home: Path, cfg: Config, clock: FakeClock) -> dict[str, str]:
    (home / "sessiontape.toml").write_text(
        '[console.review]\nsample_percent = 0.01\nlexicon_applications = ["personal.test"]\n'
    )
    sids: dict[str, str] = {}
    for user, events in (("bob", [OMS]), ("bob", [NAV]), ("ann", [OMS])):
        meta = SessionMeta(user=user, workstation="ws-1")
        sid = write_scripted_session(home, cfg, clock, [events], meta=meta).session_id
        sids[f"{user}-{len(sids)}"] = sid
    assert index_new_segments(home, cfg).ok
    return sids


def test_sample_then_list_shows_the_queue_and_resampling_adds_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, cfg: Config, clock: FakeClock
) -> None:
    """The run queues one session per trader (the floor at 0.01 %) plus bob's session that
    used the listed application; a second run adds nothing; both runs and the items are in
    the sealed audit journal."""
    sids = _home(home, cfg, clock)
    code, out, err = _cli(capsys, home, "sample", "--day", "2026-01-01", "--json")
    assert code == 0, err
    run = json.loads(out)
    assert run["considered"] == 3 and run["day"] == "2026-01-01"
    code, out, _ = _cli(capsys, home, "sample", "--day", "2026-01-01")
    assert code == 0 and "0 queued, 0 reason(s) added" in out
    code, out, _ = _cli(capsys, home, "list", "--json")
    items = json.loads(out)
    assert code == 0 and len(items) == run["items_added"]
    by_session = {i["session_id"]: [r["reason"] for r in i["reasons"]] for i in items}
    assert "application" in by_session[sids["bob-1"]]
    assert {i["trader"] for i in items} == {"bob", "ann"}
    assert len(audit_records(home, "audit.review.sample")) == 2
    assert len(audit_records(home, "audit.review.item")) == run["items_added"]
    assert (home / "console" / "review-sampling.key").stat().st_mode & 0o777 == 0o600


def test_list_overdue_is_empty_until_items_are_late_and_bad_day_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], home: Path, cfg: Config, clock: FakeClock
) -> None:
    """Items of 2026-01-01 (due five days after the day ends) are long overdue by the real
    clock; a bad --day exits 2."""
    _home(home, cfg, clock)
    code, out, err = _cli(capsys, home, "list", "--overdue")
    assert (code, out.strip()) == (0, "no review items")
    assert _cli(capsys, home, "sample", "--day", "2026-01-01")[0] == 0
    code, out, _ = _cli(capsys, home, "list", "--overdue")
    assert code == 0 and "open" in out and "due 2026-01-07T00:00Z" in out
    code, _, err = _cli(capsys, home, "sample", "--day", "yesterday")
    assert code == 2 and "--day 'yesterday': use YYYY-MM-DD" in err
