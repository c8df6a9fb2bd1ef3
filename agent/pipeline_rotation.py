"""Rotating a live recording into a new, linked session (:meth:`Recording.rotate`).

The order is what makes a rotation lose nothing: hold the session switch (capture's writes
wait), flush and seal the old session with a ``session.end`` that names the new session's id,
open the new session with a genesis that links to the old one's last seal, swap it in and
release the waiting writes. A fresh full snapshot of every tab (``on_rotate``) is asked for
as soon as writes are held, so the new session can be replayed on its own. The checkpoint
stream is stopped for the old session and started again for the new one, and the old
session is verified, after capture is writing again.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import structlog

from agent.errors import JournalClosed, JournalError
from agent.journal.journal import Journal
from agent.journal.session import PreviousSession, new_session_id
from agent.journal.sink import JournalSink

if TYPE_CHECKING:
    from agent.pipeline import Recording, RecordingResult

log = structlog.get_logger("sessiontape.pipeline")

SNAPSHOT_TIMEOUT_S = 10.0  # how long a rotation waits for the tabs to answer the snapshot ask


async def rotate_recording(rec: Recording, reason: str) -> str:
    """Seal ``rec``'s session and continue in a new linked one; return the new id.

    If the old session cannot be sealed (the disk is full) it is left for recovery and the
    new session starts unlinked (recovery seals the old one at the next start). If the new
    session cannot be opened the error is raised: the recording then has no open session.
    """
    old = rec.journal
    if old.closed:
        raise JournalClosed(f"session {old.session_id} is closed")
    new_id = new_session_id(rec.clock.utc_ns())
    snapshots: asyncio.Task[Any] | None = None
    async with rec.switch.held():
        if rec.on_rotate is not None:
            snapshots = asyncio.ensure_future(rec.on_rotate())
        link = await _seal_old(rec, reason, new_id)
        meta = replace(rec.meta, previous=link)
        opened = functools.partial(
            Journal.open,
            rec.home,
            rec.config,
            session_id=new_id,
            clock=rec.clock,
            keyring=rec.keyring,
            timestamper=rec.timestamper,
            meta=meta,
        )
        journal = await asyncio.to_thread(opened)
        rec.meta, rec.journal, rec.journal_sink = meta, journal, JournalSink(journal)
        rec.switch.inner = rec.journal_sink
    log.info("pipeline.rotated", previous=old.session_id, session=new_id, reason=reason)
    await _await_snapshots(snapshots)
    rec.rotated.append(await _finish_old(rec, old.session_id))
    return new_id


async def _seal_old(rec: Recording, reason: str, new_id: str) -> PreviousSession | None:
    """Flush and seal the current session; the link to it (None if it could not be sealed)."""
    old = rec.journal
    try:
        await asyncio.to_thread(rec.journal_sink.close, reason, next_session=new_id)
    except JournalError as exc:
        log.error("pipeline.rotation_unsealed", session=old.session_id, error=exc.message[:200])
        return None
    return PreviousSession(old.session_id, old.seal_hashes[-1], "rotation")


async def _await_snapshots(task: asyncio.Task[Any] | None) -> None:
    """Wait for the snapshot ask to be answered; a failure is logged, never raised (the
    recorders' periodic keyframes still come)."""
    if task is None:
        return
    try:
        await asyncio.wait_for(task, SNAPSHOT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - capture goes on; the next keyframe covers it
        log.warning("pipeline.rotation_snapshot_failed", error=f"{type(exc).__name__}: {exc}")


async def _finish_old(rec: Recording, old_id: str) -> RecordingResult:
    """Verify the sealed session and move the checkpoint stream on to the new one."""
    from agent.ship.stream import start_stream

    result = await asyncio.to_thread(rec.result, old_id)
    if rec.stream is not None:
        result.extra["vault"] = await asyncio.to_thread(rec.stream.stop, old_id)
        started = await asyncio.to_thread(start_stream, rec.home, rec.config.ship, rec.clock)
        rec.stream = started if not isinstance(started, str) else None
        rec.stream_problem = started if isinstance(started, str) else None
    elif rec.stream_problem is not None:
        result.extra["vault"] = {"problem": rec.stream_problem}
    return result
