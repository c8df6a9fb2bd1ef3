"""The capture engine's tick: held network events released on time, the recorders' health
checked (a silent recorder becomes a gap and is replaced).

It runs every :data:`TICK_BUSY_S` while network events are held (:mod:`agent.capture.held`)
and otherwise naps up to :data:`TICK_IDLE_S` (a quarter of ``gap_silence_ms`` at most, so the
silence check keeps its resolution), woken at once when an event is queued. A grid's recording
has nothing held most of the time: twenty wake-ups a second were about a quarter of the event
loop's CPU there (a tenth of the agent's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

import structlog

from agent.capture.held import HeldEvents

log = structlog.get_logger(__name__)

TICK_BUSY_S = 0.05  # held network events are released within this of their time
TICK_IDLE_S = 0.25  # at most a quarter of ``gap_silence_ms``; WebSocket windows are 1 s


async def run_tick(held: HeldEvents, step: Callable[[], None], gap_silence_ms: int) -> None:
    """Run ``step`` (release what is due, check health) on the tick, until cancelled; a
    failing step is logged and the tick goes on."""
    loop = asyncio.get_running_loop()
    idle_s = min(TICK_IDLE_S, gap_silence_ms / 4000)
    while True:
        if len(held):
            await asyncio.sleep(TICK_BUSY_S)
        else:
            nap = loop.create_future()
            timer = loop.call_later(idle_s, _wake_up, nap)
            held.wake = partial(_wake_up, nap)
            try:
                await nap
            finally:
                timer.cancel()
                held.wake = None
        try:
            step()
        except Exception:
            log.exception("capture.tick_failed")


def _wake_up(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
