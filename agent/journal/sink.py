"""Group commit for async producers: the journal as an :class:`agent.sink.EventSink`.

``await sink.append_many(events)`` queues events and returns when the chunk holding them is
committed (or raises ``JournalError``: every waiter of a failed commit gets it, and the
writer thread lives on to commit the next chunk). A writer thread commits a chunk when the oldest
queued event is ``chunk_max_ms`` old or ``chunk_max_events`` are queued, and calls
``journal.tick()`` at least every 250 ms so checkpoints and rotation happen while idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence

import structlog

from agent.errors import JournalClosed, JournalError, io_error_text
from agent.events import Event
from agent.journal.journal import Journal

log = structlog.get_logger("sessiontape.journal")


class JournalSink:
    """Thread-backed group-commit sink over a :class:`Journal`."""

    def __init__(
        self, journal: Journal, *, max_ms: int | None = None, max_events: int | None = None
    ) -> None:
        self.journal = journal
        self._max_s = (max_ms or journal.config.journal.chunk_max_ms) / 1000
        self._max_events = max_events or journal.config.journal.chunk_max_events
        self._cv = threading.Condition()
        self._queue: list[tuple[list[Event], asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._queued = 0
        self._oldest = 0.0
        self._stop = False
        self.failed: BaseException | None = None
        self.events_written = 0
        self.commits = 0
        self.commits_failed = 0
        self._failing = 0  # commits failed in a row
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    async def append_many(self, events: Sequence[Event]) -> None:
        """Queue events; return once they are durable."""
        if not events:
            return
        for ev in events:
            ev.validate()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._cv:
            if self._stop:
                raise JournalClosed("journal sink is closed")
            first = not self._queue
            if first:
                self._oldest = time.monotonic()
            self._queue.append((list(events), fut, loop))
            self._queued += len(events)
            # Wake the writer for the first batch too: idle, it sleeps until its next tick
            # (250 ms), and the group-commit window must start from this batch instead.
            if first or self._queued >= self._max_events:
                self._cv.notify()
        await fut

    def _take(self) -> list[tuple[list[Event], asyncio.Future[None], asyncio.AbstractEventLoop]]:
        batch, self._queue, self._queued = self._queue, [], 0
        return batch

    def _run(self) -> None:
        next_tick = time.monotonic() + 0.25
        while True:
            with self._cv:
                while not self._stop:
                    now = time.monotonic()
                    due = self._queue and (
                        self._queued >= self._max_events or now - self._oldest >= self._max_s
                    )
                    if due or now >= next_tick:
                        break
                    wait = next_tick - now
                    if self._queue:
                        wait = min(wait, self._max_s - (now - self._oldest))
                    self._cv.wait(max(wait, 0.001))
                batch = (
                    self._take()
                    if (
                        self._queue
                        and (
                            self._stop
                            or self._queued >= self._max_events
                            or time.monotonic() - self._oldest >= self._max_s
                        )
                    )
                    else []
                )
                stopping = self._stop
            if batch:
                self._commit(batch)
            if time.monotonic() >= next_tick:
                try:
                    self.journal.tick()
                except Exception as exc:  # noqa: BLE001 - the writer thread must outlive it
                    if self._failing == 0:  # an outage is logged once, not four times a second
                        log.error("journal.tick_failed", error=io_error_text(exc))
                next_tick = time.monotonic() + 0.25
            if stopping:
                with self._cv:
                    if not self._queue:
                        return

    def _commit(
        self, batch: list[tuple[list[Event], asyncio.Future[None], asyncio.AbstractEventLoop]]
    ) -> None:
        events = [ev for evs, _, _ in batch for ev in evs]
        err: BaseException | None = None
        try:
            self.journal.append_many(events)
            self.events_written += len(events)
            self.commits += 1
            if self._failing:
                log.warning("journal.writes_resumed", failed_commits=self._failing)
            self._failing = 0
        except BaseException as exc:  # noqa: BLE001 - handed to every waiter, never swallowed
            err = (
                exc
                if isinstance(exc, JournalError)
                else JournalError(f"events not written: {type(exc).__name__}: {exc}")
            )
            self.failed = err
            self.commits_failed += 1
            self._failing += 1
        # Every waiter learns the outcome before anything else can fail (logging included).
        for _, fut, loop in batch:
            # A RuntimeError means the waiter's event loop is gone; the outcome stands.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, fut, err)
        if err is not None and self._failing == 1:  # the first failure of an outage
            log.error("journal.commit_failed", error=io_error_text(err), events=len(events))

    def flush_and_stop(self) -> None:
        """Commit everything queued and stop the writer thread (journal stays open)."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join()

    def close(self, reason: str = "closed", *, next_session: str | None = None) -> None:
        """Flush, stop the thread and seal the journal (``session.end`` names ``next_session``,
        the session that follows, when known)."""
        self.flush_and_stop()
        self.journal.close(reason, next_session=next_session)


def _settle(fut: asyncio.Future[None], err: BaseException | None) -> None:
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(err)
