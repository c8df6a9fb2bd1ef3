"""The kiosk's live supervision page: the live viewer serving the current customer's session.

:func:`run_supervised` runs a :class:`~agent.kiosk.service.KioskService` and, beside it on
the same event loop, the live viewer (``replay.live_listen``; loopback with a per-launch token
unless configured otherwise, then HTTPS and a token file). The viewer follows customer after
customer (the service's ``session`` state names each new session) and, when the service has
supervisor controls (``service.supervision``), shows Pause / Resume / End buttons that call
them with the authenticated supervisor's name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agent.kiosk.service import KioskResult, KioskService
from agent.replay.live_launch import make_hub
from agent.replay.live_server import LiveState, listen_plan, serve_live


async def run_supervised(
    service: KioskService,
    *,
    listen: str | None = None,
    echo: Callable[[str], None] = print,
) -> KioskResult:
    """Run the kiosk with its live viewer; the viewer stops when the kiosk does."""
    plan = listen_plan(service.config.replay, listen)
    controls = getattr(service, "supervision", None)
    hub = make_hub(service.home, service.config, None, controls=controls)

    def follow(state: str, session_id: str) -> None:
        if state == "session" and session_id:
            hub.follow(session_id)

    service.hooks.append(follow)
    stop = asyncio.Event()
    ready = asyncio.Event()

    def on_ready(url: str) -> None:
        echo(f"sessiontape kiosk: live supervision: {url}")
        ready.set()

    server = asyncio.create_task(
        serve_live(LiveState(hub, plan, service.home / "assets"), on_ready, stop)
    )
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({server, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if server.done():  # it could not listen: the kiosk does not start unsupervisable
        waiter.cancel()
        await server
    try:
        return await service.run()
    finally:
        stop.set()
        await asyncio.gather(server, return_exceptions=True)
