"""The replay viewer: a real `sessiontape replay` process, a real Chromium, a real recording."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from agent.audit import audit_records
from agent.journal.reader import iter_records
from agent.journal.store import find_session
from agent.keys import Keyring
from tests.replay.helpers import Recorded, Viewer, cli, start_viewer
from tests.replay.rrweb_mirror import Mirror, blotter_cell_ids

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def viewer(recorded: Recorded) -> Iterator[Viewer]:
    yield from start_viewer(
        recorded.home, recorded.session_id, "--tsa-root", str(recorded.tsa_root)
    )


@pytest.fixture(scope="module")
def records(recorded: Recorded) -> list[Any]:
    info = find_session(recorded.home, recorded.session_id)
    kr = Keyring.load(recorded.home)
    return [r for s in info.segments for r in iter_records(s.path, kr)]


def _get(url: str, cookie: str | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _api(v: Viewer, path: str) -> Any:
    status, _, body = _get(f"{v.base}{path}{'&' if '?' in path else '?'}token={v.token}")
    assert status == 200, body[:200]
    return json.loads(body)


def _open_at(browser: Browser, v: Viewer, seq: int) -> Page:
    page = browser.new_page(viewport={"width": 1500, "height": 950})
    page.goto(f"{v.url.split('#')[0]}#seq={seq}", wait_until="domcontentloaded")
    page.wait_for_selector(
        f"body[data-state=ready][data-seq='{seq}']", state="attached", timeout=60_000
    )
    return page


def _replayed(page: Page, expr: str) -> Any:
    """Evaluate ``expr`` on the replayed document (no eval: the viewer's CSP forbids it)."""
    return page.evaluate("document.querySelector('#replay iframe').contentDocument" + expr)


def test_typed_account_appears_as_its_token_at_that_seq(
    browser: Browser, viewer: Viewer, records: list[Any]
) -> None:
    """The order's account field (the first tokenized field typed; the login name is kept in
    clear) shows, at each input seq, the masked token journaled there."""
    page = [r.page for r in records if r.kind == "rrweb.meta"][0]
    inputs = [
        r
        for r in records
        if r.kind == "rrweb.input"
        and r.page == page
        and r.frame == page
        and str(r.payload["data"]["text"]).startswith("tok_")
    ]
    first_id = inputs[0].payload["data"]["id"]
    same = [r for r in inputs if r.payload["data"]["id"] == first_id]
    assert len(same) >= 3
    for r in (same[1], same[-1]):
        p = _open_at(browser, viewer, r.seq)
        try:
            value = _replayed(p, ".querySelector('#order-account').value")
            assert value == r.payload["data"]["text"]
            assert value.startswith("tok_")
        finally:
            p.close()


def _first_cell_change_after(
    stream: list[Any], start_seq: int
) -> tuple[Any, dict[int, str], list[int], dict[int, tuple[int, int]], Mirror]:
    """The first mutation at or after ``start_seq`` that changes a blotter cell's text (not
    every text mutation does: the status bar and tick counter change too), with the cell texts
    before it, the cells it changed, the cell positions and the mirror after it."""
    m = Mirror()
    for r in stream:
        before = {nid: m.text(nid) for nid in blotter_cell_ids(m)} if r.seq >= start_seq else {}
        if r.kind == "rrweb.full_snapshot":
            m.full_snapshot(r.payload["data"])
        else:
            m.mutation(r.payload["data"])
        if r.seq < start_seq or r.kind != "rrweb.mutation":
            continue
        cells = blotter_cell_ids(m)
        changed = [nid for nid in cells if nid in before and before[nid] != m.text(nid)]
        if changed:
            return r, before, changed, cells, m
    return stream[-1], {}, [], {}, m


def test_blotter_cell_shows_the_value_it_had_at_that_seq(
    browser: Browser, viewer: Viewer, records: list[Any]
) -> None:
    """A cell's replayed text equals the journal's mutation history up to the seq."""
    page = [r.page for r in records if r.kind == "rrweb.meta"][0]
    stream = [
        r
        for r in records
        if r.page == page
        and r.frame == page
        and r.kind in ("rrweb.full_snapshot", "rrweb.mutation")
    ]
    muts = [r for r in stream if r.kind == "rrweb.mutation" and r.payload["data"].get("texts")]
    target, before, changed, cells, m = _first_cell_change_after(stream, muts[len(muts) // 2].seq)
    assert changed, "some text mutation after the middle of the session changes a blotter cell"
    p = _open_at(browser, viewer, target.seq)
    try:
        for nid in changed[:3]:
            row, col = cells[nid]
            shown = _replayed(
                p, f".querySelector('#blotter tbody').rows[{row}].cells[{col + 1}].textContent"
            )
            assert shown == m.text(nid)
            assert shown != before[nid]
    finally:
        p.close()


def test_replay_iframe_is_sandboxed_without_scripts_and_pages_carry_csp(
    browser: Browser, viewer: Viewer
) -> None:
    """No recorded script can run: sandbox without allow-scripts, CSP script-src 'self'."""
    status, headers, _ = _get(viewer.url)
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    p = _open_at(
        browser,
        viewer,
        _api(viewer, "/api/keyframes")["streams"][
            next(iter(_api(viewer, "/api/keyframes")["streams"]))
        ][0]["full_seq"],
    )
    try:
        sandbox = p.evaluate("document.querySelector('#replay iframe').getAttribute('sandbox')")
        assert sandbox is not None and "allow-scripts" not in sandbox
    finally:
        p.close()


def test_every_request_needs_the_token(viewer: Viewer) -> None:
    """The page and the API: no token or a wrong one is 403; the token works as ``?token=`` or
    as ``Authorization: Bearer``; no cookie is ever set (cookies are shared by every
    127.0.0.1 port). The viewer's static code is public."""
    for path in ("/", "/api/session", "/api/events?from_seq=0&to_seq=5"):
        assert _get(viewer.base + path)[0] == 403
        assert _get(viewer.base + path + ("&" if "?" in path else "?") + "token=wrong")[0] == 403
    status, headers, _ = _get(viewer.url)
    assert status == 200
    assert "Set-Cookie" not in headers
    req = urllib.request.Request(
        viewer.base + "/api/session", headers={"Authorization": f"Bearer {viewer.token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200 and "Set-Cookie" not in r.headers
    assert _get(viewer.base + "/viewer.js")[0] == 200


def test_server_listens_on_loopback_only(viewer: Viewer) -> None:
    """The listening socket is bound to 127.0.0.1, nothing else."""
    assert viewer.url.startswith("http://127.0.0.1:")
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port = local.rsplit(":", 1)
            if state == "0A" and int(port, 16) == viewer.port:
                listening.append(addr)
    assert listening == ["0100007F"]


def test_opening_one_replay_writes_exactly_one_view_record(
    recorded: Recorded, tmp_path: Path
) -> None:
    """One launch (and many page loads) = one audit.view record for that session."""
    from tests.replay.helpers import copy_home

    home = copy_home(recorded.home, tmp_path / "h")
    before = [a for a in audit_records(home, "audit.view")]
    for v in start_viewer(home, recorded.session_id):
        for _ in range(3):
            assert _get(v.url)[0] == 200
            assert _get(f"{v.base}/api/session?token={v.token}")[0] == 200
    views = [a for a in audit_records(home, "audit.view") if a not in before]
    assert len(views) == 1
    assert views[0]["session"] == recorded.session_id
    assert views[0]["integrity"] == "verified"


def test_unknown_session_is_a_clear_error_exit_2(recorded: Recorded) -> None:
    """An unknown session id: one line naming it, exit 2, no server."""
    r = cli(recorded.home, "replay", "19990101T000000Z-deadbeef", "--no-open")
    assert r.returncode == 2
    assert "unknown session '19990101T000000Z-deadbeef'" in r.stderr
    assert "replay viewer:" not in r.stdout


def test_session_api_reports_verified_badge_with_key_and_rfc3161_time(viewer: Viewer) -> None:
    """The badge data: verified, the signing key id, the verified RFC 3161 genTime."""
    s = _api(viewer, "/api/session")
    it = s["integrity"]
    assert it["status"] == "verified" and it["ok"] is True and it["failed_check"] is None
    assert it["key_ids"] and it["key_ids"][0].startswith("ed25519:")
    assert it["segments"][0]["rfc3161"]["verified_time"].startswith("20")


def test_raw_panel_data_has_chunk_and_verified_inclusion_proof(
    viewer: Viewer, records: list[Any]
) -> None:
    """/api/raw returns the exact record, its chunk, and a proof checking to the seal root."""
    r = records[len(records) // 2]
    raw = _api(viewer, f"/api/raw?seq={r.seq}")
    assert raw["record"]["seq"] == r.seq and raw["record"]["payload"] == r.payload
    assert raw["chunk"] == r.chunk
    assert raw["proof"]["included"] is True and raw["proof"]["anchor"] == "seal"
    assert raw["proof_status"] == "verified"
    assert f'"t_utc_ns": {r.t_utc_ns}' in raw["record_text"]  # exact digits for the browser


def test_timeline_lists_actions_network_ws_console_and_links_causes(viewer: Viewer) -> None:
    """Timeline categories are present and requests point at recorded user actions."""
    t = _api(viewer, "/api/timeline")
    cats = {e["cat"] for e in t["entries"]}
    assert {"action", "navigation", "network", "ws", "console", "page"} <= cats
    caused = [n for n in t["network"] if n.get("cause")]
    assert caused
    assert all(n["cause"] in t["actions"] for n in caused)


def test_step_controls_move_by_action_and_by_event(browser: Browser, viewer: Viewer) -> None:
    """'next action' lands on the next action in words (one per field edit, not per key);
    'next/prev event' move forward/back."""
    acts = sorted(_api(viewer, "/api/session")["actions"], key=lambda a: int(a["seq"]))
    assert len(acts) >= 2
    p = _open_at(browser, viewer, acts[0]["seq"])
    try:
        p.click("#next-action")
        p.wait_for_selector(
            f"body[data-state=ready][data-seq='{acts[1]['seq']}']", state="attached", timeout=60_000
        )
        assert p.inner_text("#raw-seq") == str(acts[1]["seq"])
        assert "verified" in p.inner_text("#proof-status")
        p.click("#next-event")
        p.wait_for_selector(
            f"body[data-state=ready]:not([data-seq='{acts[1]['seq']}'])",
            state="attached",
            timeout=60_000,
        )
        after = int(p.evaluate("document.body.dataset.seq"))
        assert after > acts[1]["seq"]
        p.click("#prev-event")
        p.wait_for_selector(
            f"body[data-state=ready]:not([data-seq='{after}'])", state="attached", timeout=60_000
        )
        assert int(p.evaluate("document.body.dataset.seq")) < after
    finally:
        p.close()


def test_network_row_highlights_the_action_that_caused_it(browser: Browser, viewer: Viewer) -> None:
    """Selecting a request highlights its cause on the timeline and shows its headers."""
    t = _api(viewer, "/api/timeline")
    req = next(n for n in t["network"] if n.get("cause") and n.get("response_seq"))
    p = _open_at(browser, viewer, req["seq"])
    try:
        p.click("#side nav button[data-tab=network]")
        p.click(f"#network tr[data-request='{req['request_id']}']")
        p.wait_for_selector(
            f"#timeline li.hl[data-action='{req['cause']}']", state="attached", timeout=30_000
        )
        p.wait_for_selector("#net-detail:has-text('caused by action')", timeout=30_000)
        detail = p.inner_text("#net-detail")
        assert f"#{req['seq']} net.request" in detail and "net.response" in detail
        assert req["cause"] in detail
    finally:
        p.close()


def test_jump_to_time_lands_on_the_last_event_at_or_before_it(
    browser: Browser, viewer: Viewer, records: list[Any]
) -> None:
    """Typing a UTC time jumps to the last event at or before it; the clock shows UTC."""
    from agent.clock import utc_iso as iso

    r = records[len(records) // 3]
    p = _open_at(browser, viewer, records[5].seq)
    try:
        p.fill("#goto-time", iso(r.t_utc_ns))
        p.click("#go")
        start = str(records[5].seq)
        p.wait_for_selector(
            f"body[data-state=ready]:not([data-seq='{start}'])", state="attached", timeout=60_000
        )
        landed = int(p.evaluate("document.body.dataset.seq"))
        t_ms = (r.t_utc_ns // 1_000_000) * 1_000_000
        by_seq = {x.seq: x for x in records}
        assert by_seq[landed].t_utc_ns <= t_ms
        assert t_ms - by_seq[landed].t_utc_ns < 2_000_000_000
        assert p.inner_text("#utc").endswith("Z")
        assert p.inner_text("#local")
    finally:
        p.close()


def test_play_at_8x_advances_through_the_recording(browser: Browser, viewer: Viewer) -> None:
    """Play moves the current seq forward; pause stops it."""
    kf = next(iter(_api(viewer, "/api/keyframes")["streams"].values()))[-2]
    p = _open_at(browser, viewer, kf["full_seq"])
    try:
        p.select_option("#speed", "8")
        p.click("#play")
        p.wait_for_selector(
            f"body:not([data-seq='{kf['full_seq']}'])", state="attached", timeout=30_000
        )
        # Playing from the second-to-last keyframe may reach the end (and stop by itself)
        # before this line on a busy machine: pause only while it still plays.
        if p.inner_text("#play").endswith("pause"):
            p.click("#play")
        p.locator("#play[data-icon=play]", has_text="play").wait_for(timeout=10_000)
        assert int(p.evaluate("document.body.dataset.seq")) > kf["full_seq"]
    finally:
        p.close()


def test_page_switch_replays_the_popup_in_its_own_stream(
    browser: Browser, viewer: Viewer, records: list[Any]
) -> None:
    """Seeking into the popup page selects its stream and shows the popup's DOM."""
    main = [r.page for r in records if r.kind == "rrweb.meta"][0]
    popup = [
        r
        for r in records
        if r.kind == "rrweb.full_snapshot" and r.page != main and r.frame == r.page
    ][-1]  # the first one is taken before the document parsed
    p = _open_at(browser, viewer, popup.seq)
    try:
        assert p.input_value("#stream") == f"{popup.page}:{popup.page}"
        assert _replayed(p, ".querySelector('#confirm-btn') !== null") is True
        assert p.locator("#timeline li.page").count() >= 2
    finally:
        p.close()


def test_at_time_opens_at_the_last_event_at_or_before_it(
    recorded: Recorded, records: list[Any]
) -> None:
    """`replay --at TIME` puts the seq of that moment in the URL; a bad --seq is exit 2."""
    from agent.clock import utc_iso as iso
    from agent.replay.server import parse_time

    r = records[len(records) // 2]
    at = iso(r.t_utc_ns)
    want = max(x.seq for x in records if x.t_utc_ns <= parse_time(at))
    for v in start_viewer(recorded.home, recorded.session_id, "--at", at):
        assert int(v.url.rsplit("#seq=", 1)[1]) == want
    bad = cli(recorded.home, "replay", recorded.session_id, "--seq", "99999999", "--no-open")
    assert bad.returncode == 2 and "outside the verified part" in bad.stderr
