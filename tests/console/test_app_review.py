"""The supervisory review queue in the console, in real Chromium against a real uvicorn
console over a firm home with real shipped sessions: a supervisor samples a day, the items
fall overdue on the console's clock, a reviewer claims one, follows its lexicon hit into the
replay (which opens at the hit) and closes it with a disposition; another is escalated and a
supervisor closes it; an examiner reads the queue without forms, and a forged POST is 403
and audited. Each action is an ``audit.review.*`` record under the signed-in subject."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from agent.audit import record_access
from agent.config import load_config
from agent.console.identity import Principal
from agent.console.review_desk import ReviewDesk
from agent.console.review_job import start_review_job
from agent.console.state import acting
from agent.testing import FakeClock
from tests.console.app_firm import (
    DAY_NS,
    Firm,
    Served,
    TickingClock,
    audit_of,
    build_firm,
    form_token,
    serve,
    sign_in,
)
from tests.console.browserkit import browser, context, sign_in_page
from tests.console.reviewkit import DAY, DAY_START_NS
from tests.waiting import wait_until

pytestmark = pytest.mark.browser
__all__ = ["browser", "context"]


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Firm:
    f = build_firm(tmp_path_factory.mktemp("console-review"))
    with (f.home / "sessiontape.toml").open("a") as out:
        out.write('[console.review]\nlexicon_terms = ["clicked"]\nsample_at = ""\n')
    return f


@pytest.fixture(scope="module")
def clock() -> TickingClock:
    return TickingClock(utc_ns=DAY_START_NS + 2 * DAY_NS)


@pytest.fixture(scope="module")
def console(firm: Firm, clock: TickingClock) -> Iterator[Served]:
    with serve(firm.home, clock=clock) as s:
        yield s


def _item_of(page: Page, firm: Firm, trader: str) -> None:
    page.click(f"tr.item[data-session='{firm.sessions[trader]}'] a.open")
    page.wait_for_selector("#item")


def test_a_supervisor_samples_a_day_into_the_queue(
    firm: Firm, console: Served, context: BrowserContext
) -> None:
    page = sign_in_page(context, console.url, "alice")
    page.click("nav a:text('Review')")
    page.fill("#sample-day", DAY)
    page.click("#sample-go")
    assert f"{DAY}: 2 session(s) considered, 2 queued" in page.inner_text("#message")
    sessions = page.eval_on_selector_all("tr.item", "es => es.map(e => e.dataset.session)")
    assert sorted(sessions) == sorted(firm.sessions.values())
    assert page.locator("tr.overdue").count() == 0
    run = audit_of(firm.home, "audit.review.sample")[-1]
    assert run["actor"] == "local:alice" and run["items_added"] == 2
    items = audit_of(firm.home, "audit.review.item")
    assert {i["session_id"] for i in items} == set(firm.sessions.values())


def test_items_past_their_due_date_are_highlighted(
    console: Served, clock: TickingClock, context: BrowserContext
) -> None:
    clock.advance(10 * DAY_NS)  # due_days = 5 after the sampled day
    page = sign_in_page(context, console.url, "rita")
    page.goto(console.url + "/review")
    assert page.locator("tr.item.overdue").count() == 2
    assert page.locator("tr.overdue strong.late").count() == 2


def test_a_reviewer_follows_the_hit_into_the_replay_and_records_a_disposition(
    firm: Firm, console: Served, context: BrowserContext
) -> None:
    page = sign_in_page(context, console.url, "rita")
    page.goto(console.url + "/review?state=open")
    _item_of(page, firm, "trader1")
    item_url = page.url
    reasons = page.eval_on_selector_all("li.reason", "es => es.map(e => e.dataset.reason)")
    assert sorted(reasons) == ["sample", "term"]
    page.click("#claim-go")
    assert page.inner_text("#message") == "You claimed this item."
    assert page.inner_text("#item-claimed") == "local:rita"
    page.goto(console.url + "/review?mine=1")
    mine = page.eval_on_selector_all("tr.item", "es => es.map(e => e.dataset.session)")
    assert mine == [firm.sessions["trader1"]]
    page.goto(item_url)
    href = str(page.get_attribute("a.hit", "href"))
    seq = re.search(r"^/replay/([^?]+)\?seq=(\d+)$", href)
    assert seq is not None and seq.group(1) == firm.sessions["trader1"], href
    page.click("a.hit")
    page.wait_for_selector(
        f"body[data-state=ready][data-seq='{seq.group(2)}']", state="attached", timeout=60_000
    )
    view = audit_of(firm.home, "audit.view")[-1]
    assert view["actor"] == "local:rita" and view["start_seq"] == int(seq.group(2))
    page.goto(item_url)
    page.select_option("#disposition", "issue - coached")
    page.fill("#decide-note", "spoke to the trader about the chat")
    page.click("#decide-go")
    assert page.get_attribute("#item", "data-state") == "closed"
    assert "issue - coached: spoke to the trader" in page.inner_text("#item-disposition")
    actions = page.eval_on_selector_all(
        "tr.action td:nth-child(3)", "es => es.map(e => e.textContent)"
    )
    assert actions == ["claim", "disposition"]
    rec = audit_of(firm.home, "audit.review.disposition")[-1]
    assert (rec["actor"], rec["disposition"], rec["note"]) == (
        "local:rita", "issue - coached", "spoke to the trader about the chat",
    )  # fmt: skip


def test_an_escalation_is_closed_by_a_supervisor(
    firm: Firm, console: Served, browser: Browser, context: BrowserContext
) -> None:
    page = sign_in_page(context, console.url, "rita")
    page.goto(console.url + "/review?state=open")
    _item_of(page, firm, "trader2")
    item_url = page.url
    page.fill("#escalate-note", "looks like front-running")
    page.click("#escalate-go")
    assert page.get_attribute("#item", "data-state") == "escalated"
    assert page.locator("#decide").count() == 0  # only a supervisor closes an escalation
    sup = sign_in_page(browser.new_context(), console.url, "alice")
    sup.goto(item_url)
    sup.select_option("#disposition", "issue - reported to compliance")
    sup.fill("#decide-note", "sent to compliance")
    sup.click("#decide-go")
    assert sup.get_attribute("#item", "data-state") == "closed"
    sup.context.close()
    esc = audit_of(firm.home, "audit.review.escalate")[-1]
    closed = audit_of(firm.home, "audit.review.disposition")[-1]
    assert (esc["actor"], esc["note"]) == ("local:rita", "looks like front-running")
    assert (closed["actor"], closed["state_before"]) == ("local:alice", "escalated")


def test_an_examiner_reads_the_queue_and_a_forged_post_is_refused(
    firm: Firm, console: Served, context: BrowserContext
) -> None:
    page = sign_in_page(context, console.url, "exam")
    page.goto(console.url + "/review")
    assert page.locator("tr.item").count() == 2 and page.locator("#sample").count() == 0
    _item_of(page, firm, "trader1")
    for form in ("#claim", "#decide", "#escalate"):
        assert page.locator(form).count() == 0
    iid = page.url.rsplit("/", 1)[-1]
    c, _ = sign_in(console.url, "exam")
    token = form_token(c.get("/review").text)
    r = c.post(f"/review/{iid}/escalate", data={"csrf": token, "note": "forged"})
    assert r.status_code == 403
    refused = audit_of(firm.home, "audit.refused")[-1]
    assert refused["actor"] == "local:exam" and "review_work" in str(refused["reason"])
    assert audit_of(firm.home, "audit.review.escalate")[-1]["note"] != "forged"


def test_a_sampling_whose_audit_cannot_be_written_changes_nothing(
    firm: Firm, console: Served
) -> None:
    c, _ = sign_in(console.url, "alice")
    token = form_token(c.get("/review").text)
    db = firm.home / "console" / "console.db"
    runs_before = _count(db, "review_runs")
    journals, aside = firm.home / "journals", firm.home / "journals.aside"
    journals.rename(aside)
    journals.write_text("not a directory: the audit journal cannot be written\n")
    try:
        r = c.post("/review/sample", data={"csrf": token, "day": DAY})
    finally:
        journals.unlink()
        aside.rename(journals)
    assert r.status_code == 503 and "Not done" in r.text
    assert _count(db, "review_runs") == runs_before


def _count(db: Path, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()


def test_the_daily_job_samples_the_previous_day_at_the_configured_time(firm: Firm) -> None:
    cfg = load_config(env={}, home=firm.home)
    review = cfg.console.review.model_copy(update={"sample_at": "06:00"})
    cfg = cfg.model_copy(update={"console": cfg.console.model_copy(update={"review": review})})
    clock = FakeClock(utc_ns=DAY_START_NS + DAY_NS + 6 * 3600 * 10**9 - 1)  # just before 06:00

    def audit(who: Principal | None, kind: str, payload: dict[str, object]) -> str:
        with acting(who):
            return record_access(firm.home, cfg, kind, dict(payload))

    desk = ReviewDesk(firm.home, cfg, audit, clock)
    stop = threading.Event()
    try:
        assert start_review_job(desk, clock, stop) is not None
        db = firm.home / "console" / "console.db"
        wait_until(
            lambda: _count(db, "review_runs WHERE by_subject = 'system:review-scheduler'") == 1,
            what="the scheduled sampling run",
            timeout_s=30,
        )
    finally:
        stop.set()
        desk.close()
    con = sqlite3.connect(db)
    try:
        day = con.execute("SELECT day FROM review_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()
    assert day == DAY
    run = audit_of(firm.home, "audit.review.sample")[-1]
    assert (run["actor"], run["day"]) == ("system:review-scheduler", DAY)
