"""``sessiontape watch``: follow an active session of this home in the live viewer.

The session is the one named (id or unique prefix), else the newest one still being recorded
(its last segment unsealed). With ``kiosk`` the viewer follows session after session: when
the watched one ends it moves to the next newer session of the home (a kiosk's next
customer); with no active session it waits for one. Opening the viewer is recorded as an
``audit.view`` (``live: true``). ``watch`` runs in its own process, so it has no supervisor
controls: a kiosk serves the buttons from its own live viewer (:mod:`agent.kiosk.live`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from agent.audit import AUDIT_PREFIX
from agent.config import Config
from agent.errors import UsageError
from agent.journal.store import find_session, load_session
from agent.replay.live_hub import LiveControls, LiveHub, newest_session
from agent.replay.live_server import LiveState, listen_plan, serve_live


def active_session(home: Path) -> str | None:
    """The newest session whose last segment is not sealed (still being recorded)."""
    root = home / "journals"
    if not root.is_dir():
        return None
    dirs = (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(AUDIT_PREFIX))
    for d in sorted(dirs, reverse=True):
        s = load_session(d)
        if s.segments and not s.segments[-1].sealed:
            return s.session_id
    return None


def make_hub(
    home: Path,
    config: Config,
    session_id: str | None,
    *,
    controls: LiveControls | None = None,
    follow_newer: bool = False,
) -> LiveHub:
    """A hub with the ``[replay]`` live settings."""
    r = config.replay
    return LiveHub(
        home,
        session_id,
        poll_ms=r.live_poll_ms,
        leave_seconds=r.live_leave_seconds,
        controls=controls,
        follow_newer=follow_newer,
    )


def watch(
    home: Path,
    config: Config,
    session: str | None,
    *,
    kiosk: bool = False,
    listen: str | None = None,
    open_browser: bool = True,
    echo: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the live viewer for ``session`` (see the module docstring) until Ctrl-C."""
    import webbrowser

    from agent.audit import record_access

    plan = listen_plan(config.replay, listen)
    sid = find_session(home, session).session_id if session else active_session(home)
    if sid is None and not kiosk:
        raise UsageError(
            f"no session is being recorded in {home / 'journals'} (name one, or use --kiosk "
            "to wait for the next)"
        )
    hub = make_hub(home, config, sid, follow_newer=kiosk)
    if sid is None:
        hub.floor = newest_session(home) or ""
    record_access(home, config, "audit.view", {"session": sid or "", "live": True})
    echo(f"watching session {sid}" if sid else "waiting for the next session")
    state = LiveState(hub, plan, home / "assets")

    def ready(url: str) -> None:
        echo(f"live viewer: {url}")
        echo("press Ctrl-C to stop")
        if open_browser and config.replay.open_browser:
            webbrowser.open(url)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop
        asyncio.run(serve_live(state, ready, stop or asyncio.Event()))
