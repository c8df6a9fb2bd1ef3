"""A ``KioskService`` run on the two kiosk test sites, and reading its sealed sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from agent.events import Record
from agent.journal.reader import iter_records
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.kiosk.lobby import START_BUTTON
from agent.kiosk.policy import KioskPolicy
from agent.kiosk.service import KioskOptions, KioskResult, KioskService
from tests.kiosk.sites import KioskSites, kiosk_config, kiosk_sites
from tests.waiting import wait_until_async

Drive = Callable[[KioskService, KioskSites], Awaitable[None]]

# ``page.evaluate(SCREEN_XY, element_id)``: where the element's centre is on the X screen:
# the window's screen position, plus the browser UI above the page (outer minus inner
# height), plus the element's page position.
SCREEN_XY = """(id) => {
  const r = document.getElementById(id).getBoundingClientRect();
  return [Math.round(screenX + r.x + r.width / 2),
          Math.round(screenY + outerHeight - innerHeight + r.y + r.height / 2)];
}"""


@asynccontextmanager
async def running_kiosk(
    home: Path,
    s: KioskSites,
    path: str = "/start.html",
    policy_kw: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[KioskService, asyncio.Task[KioskResult]]]:
    """A headless kiosk (operator ``op-7``) opening site A's ``path``, allowing site A only
    (``policy_kw``: more of the policy); stopped (and awaited) on the way out."""
    policy = KioskPolicy.build(s.a + path, [s.a], **(policy_kw or {}))
    opts = KioskOptions(**{"headless": True, "operator": "op-7", **options})
    service = KioskService(home, kiosk_config(), policy, opts)
    task = asyncio.create_task(service.run())
    try:
        yield service, task
    finally:
        service.request_stop()
        await asyncio.wait_for(asyncio.shield(task), 60)


def run_kiosk(
    home: Path,
    drive: Drive,
    path: str = "/start.html",
    policy_kw: dict[str, Any] | None = None,
    **options: Any,
) -> KioskResult:
    """Run a kiosk (see :func:`running_kiosk`), ``drive`` it, return how it finished."""

    async def main() -> KioskResult:
        async with (
            kiosk_sites() as s,
            running_kiosk(home, s, path, policy_kw, **options) as (
                service,
                task,
            ),
        ):
            await drive(service, s)
            return await asyncio.wait_for(asyncio.shield(task), 60)

    return asyncio.run(main())


async def wait_for_lobby(service: KioskService, number: int) -> None:
    """Wait for the start screen of customer ``number`` (its Start button drawn)."""

    def lobby_up() -> bool:
        done = len(service._out.customers) == number - 1
        gate, cap = service.gate, service.capture
        return done and service.state == "lobby" and gate is not None and cap is not None

    await wait_until_async(lobby_up, what=f"the start screen for customer {number}")
    assert service.capture is not None
    await service.capture.page.wait_for_selector(f"#{START_BUTTON}")


async def start_customer(service: KioskService, number: int, ready: str = "#h") -> None:
    """Wait for the start screen of customer ``number``; the operator clicks Start; wait for
    ``ready`` on the service's page."""
    await wait_for_lobby(service, number)
    assert service.capture is not None
    await service.capture.page.click(f"#{START_BUTTON}")
    await wait_until_async(lambda: service.state == "session", what="the customer session")
    await service.capture.page.wait_for_selector(ready)


def session_records(home: Path, session_id: str) -> list[Record]:
    """Every record of a sealed session, in order."""
    keyring = Keyring.load_or_init(home, kiosk_config().seal.keys)
    segments = [s.path for s in find_session(home, session_id).segments]
    return [r for seg in segments for r in iter_records(seg, keyring)]


def of_kind(records: list[Record], prefix: str) -> list[Record]:
    """The records whose kind starts with ``prefix``."""
    return [r for r in records if r.kind.startswith(prefix)]
