"""``sessiontape agent`` as the trader's workstation service, end to end: a real visible
Chromium on Xvfb, real keyboard input through xdotool, real kill -9 of the browser and of the
agent, a real local site that logs the trader in with a cookie."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.waiting import wait_until
from tests.workstation.desktop import (
    Desktop,
    LoginSite,
    browser_pid,
    find,
    indexed_sessions,
    start_agent,
    verify,
)

pytestmark = pytest.mark.browser


def _env(site: LoginSite, page: str, **keys: str) -> dict[str, str]:
    env = {"SESSIONTAPE_AGENT_START_PAGES": json.dumps([site.base + page])}
    env.update({f"SESSIONTAPE_AGENT_{k.upper()}": v for k, v in keys.items()})
    return env


def _previous(home: Path, sid: str) -> tuple[str, str] | None:
    """The session ``sid`` is linked to, and why (from its genesis)."""
    from agent.journal.store import find_session

    prev = find_session(home, sid).previous_session
    return None if prev is None else (prev["session_id"], prev["reason"])


def _navigated(home: Path, sid: str, url: str, transition: str) -> list[object]:
    return find(home, sid, "page.navigate", url=url, main_frame=True, transition=transition)


def _trader_types_a_url_opens_a_tab_and_resizes(
    desk: Desktop, home: Path, sid: str, site: LoginSite
) -> None:
    desk.type_url(site.base + "/typed")
    wait_until(
        lambda: _navigated(home, sid, site.base + "/typed", "typed"),
        what="the typed URL recorded with transition typed",
    )
    desk.key("ctrl+t")
    wait_until(lambda: len(find(home, sid, "page.created")) == 2, what="the new tab")
    desk.type_url(site.base + "/tab2")
    wait_until(lambda: _navigated(home, sid, site.base + "/tab2", "typed"), what="the second tab")
    desk.resize(900, 640)
    wait_until(
        lambda: [
            r for r in find(home, sid, "rrweb.viewport_resize") if r.payload["data"]["width"] == 900
        ],
        what="the window resize as an rrweb viewport resize",
    )


def _chromium_killed_and_relaunched(home: Path, sid: str, start: str) -> None:
    pid = browser_pid(home / "profile")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    (gap,) = wait_until(
        lambda: find(home, sid, "capture.gap", cause="browser_exited"), what="the crash gap"
    )
    assert gap.payload["browser_exit"] == "killed by SIGKILL"
    assert gap.payload["relaunched"] is True
    wait_until(
        lambda: len(_navigated(home, sid, start, "auto_toplevel")) == 2,
        what="the relaunched browser at its start page",
    )
    assert browser_pid(home / "profile") not in (None, pid)


def test_typed_url_new_tab_resize_browser_crash_and_closed_window_are_on_the_record(
    home: Path, tmp_path: Path, display: str, site: LoginSite
) -> None:
    """The trader types a URL, opens a tab, resizes the window; Chromium is killed -9 and
    relaunched (a gap names the kill); the last window closed is relaunched (on_close =
    relaunch); SIGTERM seals a session that verifies."""
    desk = Desktop(display)
    agent = start_agent(home, display, tmp_path, env=_env(site, "/login"))
    try:
        sid = agent.session()
        start = site.base + "/login"
        wait_until(lambda: _navigated(home, sid, start, "auto_toplevel"), what="the start page")
        _trader_types_a_url_opens_a_tab_and_resizes(desk, home, sid, site)
        _chromium_killed_and_relaunched(home, sid, start)
        desk.key("ctrl+w")  # the relaunched browser's only tab: its last window
        (again,) = wait_until(
            lambda: find(home, sid, "agent.browser_relaunch"), what="the relaunch on close"
        )
        assert again.payload == {"reason": "closed_by_user", "start_pages": [start]}
        wait_until(
            lambda: len(_navigated(home, sid, start, "auto_toplevel")) == 3,
            what="the browser reopened at its start page",
        )
    finally:
        code = agent.stop()
    assert code == 0, agent.err()
    assert "stopped (stopped)" in agent.out() and "verified" in agent.out()
    report = verify(home, sid)
    assert report.ok, report.first_failure
    (end,) = find(home, sid, "session.end")
    assert end.payload["reason"] == "stopped"
    assert browser_pid(home / "profile") is None


def test_login_survives_a_restart_a_killed_agent_is_recovered_and_on_close_end_exits_0(
    home: Path, tmp_path: Path, display: str, site: LoginSite
) -> None:
    """The cookie set in one agent run is sent in the next (persistent profile); kill -9 of
    the agent takes its browser down, the next start seals the old session as recovered
    (verifies) and records a new one, whose last window closed ends the agent with 0."""
    desk = Desktop(display)
    first = start_agent(home, display, tmp_path, env=_env(site, "/login"))
    sid1 = first.session()
    wait_until(lambda: site.cookie_on("/login") is not None, what="the login page")
    wait_until(lambda: _navigated(home, sid1, site.base + "/login", "auto_toplevel"), what="login")
    assert first.stop() == 0, first.err()

    second = start_agent(home, display, tmp_path, env=_env(site, "/desk"))
    sid2 = second.session()
    wait_until(lambda: site.cookie_on("/desk") is not None, what="the desk page")
    assert site.cookie_on("/desk") == "sid=trader-7"
    wait_until(lambda: find(home, sid2, "page.navigate", main_frame=True), what="a navigation")
    second.kill9()
    wait_until(lambda: browser_pid(home / "profile") is None, what="the orphaned browser to end")

    third = start_agent(
        home, display, tmp_path, env=_env(site, "/desk", on_close="end", index_interval_seconds="1")
    )
    sid3 = third.session()
    assert sid3 != sid2
    assert _previous(home, sid2) == (sid1, "restart")  # a clean stop, then a new start
    assert _previous(home, sid3) == (sid2, "recovered")  # the killed agent's, sealed at start
    report = verify(home, sid2)
    assert report.ok, report.first_failure
    assert report.segments[-1].status == "recovered"
    assert find(home, sid2, "capture.gap", cause="agent_crash")
    wait_until(lambda: indexed_sessions(home) >= 2, what="the index job to index both sessions")
    wait_until(lambda: find(home, sid3, "page.navigate", main_frame=True), what="a navigation")
    desk.key("ctrl+w")
    assert third.wait() == 0, third.err()
    assert "stopped (browser_closed)" in third.out()
    assert verify(home, sid3).ok
    (end,) = find(home, sid3, "session.end")
    assert end.payload["reason"] == "browser_closed"
