"""The console in real Chromium (Playwright), served by a real uvicorn from a firm home whose
sessions were shipped to a file vault: sign in, search with facets, open the replay at a hit,
export a bundle that verifies offline, place and release a hold, reveal an escrowed value
(directly, and through a second supervisor's approval), and read all of it in the audit
under the signed-in subjects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.cli.clirun import run
from tests.console.app_firm import (
    SECRET,
    Firm,
    Served,
    audit_of,
    build_firm,
    form_token,
    serve,
    sign_in,
)
from tests.console.browserkit import browser, context, sign_in_page

pytestmark = pytest.mark.browser
__all__ = ["browser", "context"]
TEXTS = "es => es.map(e => e.textContent)"


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Firm:
    return build_firm(tmp_path_factory.mktemp("console-browser"))


@pytest.fixture(scope="module")
def console(firm: Firm) -> Iterator[Served]:
    with serve(firm.home) as s:
        yield s


def _sign_in(ctx: BrowserContext, url: str, name: str) -> Page:
    return sign_in_page(ctx, url, name)


def test_search_with_facets_opens_the_replay_at_the_hit(
    firm: Firm, console: Served, context: BrowserContext
) -> None:
    page = _sign_in(context, console.url, "rita")
    page.fill("#q", "clicked")
    page.click("#go")
    page.wait_for_selector("#hits")
    users = page.eval_on_selector_all("a.facet[data-facet=user]", TEXTS)
    assert sorted(users) == ["trader1", "trader2"]
    page.click("a.facet[data-facet=workstation]:text('desk-2')")
    page.wait_for_selector("#count")
    assert "on desk-2" in page.inner_text("#count")
    rows = page.locator("tr.hit")
    assert rows.count() > 0
    assert set(page.eval_on_selector_all("tr.hit td:nth-child(2)", TEXTS)) == {"trader2"}
    link = page.locator("tr.hit a.open").first
    seq = re.search(r"seq=(\d+)", str(link.get_attribute("href")))
    assert seq is not None
    link.click()
    page.wait_for_selector(
        f"body[data-state=ready][data-seq='{seq.group(1)}']", state="attached", timeout=60_000
    )
    assert page.inner_text("#badge").startswith("verified")
    assert firm.sessions["trader2"] in page.inner_text("#meta")
    assert "token=" not in page.url and page.url.endswith(f"#seq={seq.group(1)}")
    views = audit_of(firm.home, "audit.view")
    assert views[-1]["actor"] == "local:rita" and views[-1]["session"] == firm.sessions["trader2"]
    assert views[-1]["start_seq"] == int(seq.group(1))
    searches = audit_of(firm.home, "audit.search")
    assert searches[-1]["actor"] == "local:rita" and "clicked" in str(searches[-1]["query"])


def test_export_downloads_a_bundle_that_verifies_offline(
    firm: Firm, console: Served, context: BrowserContext, tmp_path: Path
) -> None:
    sid = firm.sessions["trader1"]
    page = _sign_in(context, console.url, "alice")
    page.goto(f"{console.url}/session/{sid}")
    page.fill("#export-matter", "SEC-2026-14")
    page.fill("#export-reason", "examiner request")
    with page.expect_download() as dl:
        page.click("#export-go")
    bundle = tmp_path / "bundle.zip"
    dl.value.save_as(bundle)
    r = run("verify-bundle", str(bundle), "--trust", str(firm.trust), home=tmp_path / "examiner")
    assert r.code == 0, r.out + r.err
    assert "bundle verified: every check passed" in r.out
    rec = audit_of(firm.home, "audit.export")[-1]
    assert rec["actor"] == "local:alice" and rec["actor_roles"] == ["supervisor"]


def test_hold_and_release(firm: Firm, console: Served, context: BrowserContext) -> None:
    sid = firm.sessions["trader1"]
    page = _sign_in(context, console.url, "alice")
    page.goto(f"{console.url}/session/{sid}")
    page.fill("#hold-matter", "SEC-2026-14")
    page.fill("#hold-reason", "subpoena 14")
    page.click("#hold-go")
    assert f"Hold SEC-2026-14 placed on {sid}" in page.inner_text("#message")
    assert page.locator("tr.hold").count() == 1
    page.fill(".release-reason", "matter closed")
    page.click(".release-go")
    assert f"Hold SEC-2026-14 on {sid} released." in page.inner_text("#message")
    assert page.locator("#no-holds").count() == 1
    add, release = audit_of(firm.home, "audit.hold")[-2:]
    assert (add["action"], add["actor"], add["note"]) == ("add", "local:alice", "subpoena 14")
    assert (release["action"], release["actor"], release["note"]) == (
        "release", "local:alice", "matter closed",
    )  # fmt: skip
    assert int(str(add["objects"])) > 0


def test_reveal_needs_a_reason_then_shows_the_value(
    firm: Firm, console: Served, context: BrowserContext
) -> None:
    sid = firm.sessions["trader2"]
    page = _sign_in(context, console.url, "alice")
    page.goto(f"{console.url}/session/{sid}")
    page.fill("#reveal-token", firm.escrow_token)
    page.click("#reveal-go")
    assert "A reason is required" in page.inner_text("#refusal")
    page.goto(f"{console.url}/session/{sid}")
    page.fill("#reveal-token", firm.escrow_token)
    page.fill("#reveal-reason", "trade reconstruction 77")
    page.click("#reveal-go")
    assert page.inner_text("#value") == SECRET
    rec = audit_of(firm.home, "audit.reveal")[-1]
    assert rec["actor"] == "local:alice" and rec["outcome"] == "revealed"
    assert rec["reason"] == "trade reconstruction 77" and SECRET not in str(rec)


def test_reveal_with_a_second_approver(firm: Firm, browser: Browser) -> None:
    """With console.reveal_requires_approval the requester waits; they cannot approve their
    own request; a second supervisor approves; then the requester sees the value."""
    sid = firm.sessions["trader2"]
    with serve(firm.home, approval=True) as s:
        alice_ctx, bob_ctx = browser.new_context(), browser.new_context()
        try:
            alice = _sign_in(alice_ctx, s.url, "alice")
            alice.goto(f"{s.url}/reveals")
            alice.fill("#reveal-session", sid)
            alice.fill("#reveal-token", firm.escrow_token)
            alice.fill("#reveal-reason", "needs four eyes")
            alice.click("#reveal-go")
            assert "waiting for a second supervisor" in alice.inner_text("#message")
            row = alice.locator("tr.request[data-status=pending]").first
            rid = str(row.get_attribute("data-id"))
            assert row.locator("button.approve").count() == 0
            c, _ = sign_in(s.url, "alice")  # the same person, posting the approval anyway
            r = c.post(f"/reveals/{rid}/approve", data={"csrf": form_token(c.get("/reveals").text)})
            assert r.status_code == 403 and "your own reveal request" in r.text
            bob = _sign_in(bob_ctx, s.url, "bob")
            bob.goto(f"{s.url}/reveals")
            bob.click(f"tr.request[data-id='{rid}'] button.approve")
            assert f"Reveal request {rid} approved." in bob.inner_text("#message")
            assert bob.locator(f"tr.request[data-id='{rid}'] button.show").count() == 0
            alice.goto(f"{s.url}/reveals")
            alice.click(f"tr.request[data-id='{rid}'] button.show")
            assert alice.inner_text("#value") == SECRET
        finally:
            alice_ctx.close()
            bob_ctx.close()
    steps = [(r["action"], r["actor"]) for r in audit_of(firm.home, "audit.reveal_request")]
    assert steps[-2:] == [("requested", "local:alice"), ("approved", "local:bob")]
    assert audit_of(firm.home, "audit.reveal")[-1]["actor"] == "local:alice"


def test_examiner_reads_the_audit_with_each_subject(
    firm: Firm, console: Served, context: BrowserContext
) -> None:
    page = _sign_in(context, console.url, "exam")
    assert page.locator("nav a", has_text="Holds").count() == 0  # read-only: no hold page
    page.goto(f"{console.url}/audit?actor=local:alice")
    kinds = set(page.eval_on_selector_all("tr.record", "es => es.map(e => e.dataset.kind)"))
    assert {"audit.export", "audit.hold", "audit.reveal", "audit.signin"} <= kinds
    actors = set(page.eval_on_selector_all("tr.record", "es => es.map(e => e.dataset.actor)"))
    assert actors == {"local:alice"}
    page.fill("#a-actor", "local:rita")
    page.fill("#a-kind", "audit.search")
    page.click("#a-go")
    assert page.locator("tr.record").count() >= 1
    assert "clicked" in page.inner_text("tr.record .detail")
