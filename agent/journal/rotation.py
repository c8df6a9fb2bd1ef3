"""Session boundaries that follow the working day: the switch, the link, the schedule.

A workstation records one session per trader per day. Three things make that work:

* :class:`SessionSwitch`, the sink layer between the stages that wrap the journal (masking,
  strict durability) and the current session's :class:`JournalSink`. A rotation holds it:
  writes that arrive meanwhile wait, the old session is flushed and sealed, the new one is
  opened, and the waiting writes go to the new session. Every write lands exactly once, and
  never in the old session after its ``session.end``.
* :func:`find_previous`: the most recent earlier session of the same user on the same
  workstation in a state directory, as the :class:`PreviousSession` link a new session's
  genesis records (``restart`` after a normal end, ``recovered`` after a crash that recovery
  sealed).
* :func:`next_rotation`: when the next daily rotation is due (``agent.rotate_at``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path

import structlog

from agent.errors import UsageError
from agent.events import Event
from agent.journal.session import PreviousSession, SessionMeta
from agent.journal.sink import JournalSink

log = structlog.get_logger("sessiontape.journal")

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


class SessionSwitch:
    """The current session's journal sink, swapped atomically by a rotation.

    ``append_many`` passes straight through unless a rotation holds the switch's lock; then
    it queues on the lock (first come, first served, behind every write already waiting) and
    writes to the new session. Events handed to the inner sink are queued there before its
    ``append_many`` first yields, so everything that passed before the hold is in the old
    session's queue when the old session is flushed and sealed, and the writes that waited
    reach the new session in the order they arrived.
    """

    def __init__(self, inner: JournalSink) -> None:
        self.inner = inner
        self._lock = asyncio.Lock()
        self._waiting = 0  # writes queued behind a rotation, not yet through
        self.waited = 0  # writes that have waited for a rotation, ever

    async def append_many(self, events: Sequence[Event]) -> None:
        """Write ``events`` to the current session (after a rotation in progress)."""
        if self._lock.locked() or self._waiting:
            self._waiting += 1
            self.waited += 1
            try:
                async with self._lock:
                    pass
            finally:
                self._waiting -= 1
        await self.inner.append_many(events)

    @property
    def holding(self) -> bool:
        """A rotation is in progress: new writes wait."""
        return self._lock.locked()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold writes for the body; release them (in arrival order) however it ends."""
        async with self._lock:
            yield


def find_previous(home: Path, meta: SessionMeta) -> PreviousSession | None:
    """The link to the most recent earlier session of ``meta``'s user and workstation.

    Run after recovery (which seals what a crashed writer left). None when there is no such
    session, or when the most recent one does not end in a seal that closes it (``closed`` or
    ``recovered``: it is damaged, still being written, or missing its last segments): a link
    names a seal, and ``verify`` reports such a session on its own.
    """
    from agent.journal.store import list_sessions

    mine = [
        s for s in list_sessions(home) if s.user == meta.user and s.workstation == meta.workstation
    ]
    if not mine:
        return None
    last = max(mine, key=lambda s: (s.start_utc_ns, s.session_id))
    seg = last.segments[-1]
    if seg.error or seg.seal_reason not in ("closed", "recovered"):
        log.warning(
            "journal.link_skipped",
            previous=last.session_id,
            why=seg.error or f"last segment {seg.index} is {seg.seal_reason or 'unsealed'}",
        )
        return None
    reason = "recovered" if seg.seal_reason == "recovered" else "restart"
    return PreviousSession(last.session_id, seg.seal_hash_hex, reason)


def parse_rotate_at(at: str) -> time | None:
    """``"HH:MM"`` or ``"HH:MM:SS"`` (24-hour local time) as a time of day; ``""`` is None
    (no daily rotation)."""
    if at == "":
        return None
    m = _HHMM.match(at)
    if m is None:
        raise UsageError(
            f"agent.rotate_at: {at!r} is not a local time HH:MM[:SS] (00:00 to 23:59:59)"
        )
    return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def next_rotation(now: datetime, at: str) -> datetime | None:
    """The first moment strictly after ``now`` whose local wall-clock time is ``at``.

    ``now`` is an aware datetime in the workstation's local zone (a ``zoneinfo`` zone, so
    daylight-saving rules apply); the answer is aware in the same zone. None when ``at`` is
    ``""`` (daily rotation turned off).

    Daylight saving: when the clocks go forward past ``at`` (02:30 on a day that skips from
    02:00 to 03:00), that day rotates at the first valid moment after the gap (03:00 local),
    once. When the clocks go back and ``at`` happens twice (01:30 on a day that repeats
    01:00-02:00), the day rotates once, at the first occurrence. Either way each local day
    has exactly one rotation, and the trader's session still begins at the configured hour.
    """
    t = parse_rotate_at(at)
    if t is None:
        return None
    tz = now.tzinfo
    if tz is None or now.utcoffset() is None:
        raise ValueError("next_rotation needs an aware datetime in the local zone")
    # Compared in UTC: an aware comparison within one zone ignores ``fold`` (the repeated
    # hour), and the second 01:10 comes after the first 01:30.
    after = now.astimezone(UTC)
    day = now.date()
    while True:  # today or tomorrow (a candidate is at most a day and an hour away)
        candidate = _local_moment(datetime.combine(day, t), tz)
        if candidate.astimezone(UTC) > after:
            return candidate
        day += timedelta(days=1)


def _local_moment(naive: datetime, tz: tzinfo) -> datetime:
    """Wall-clock time ``naive`` in zone ``tz``: its first occurrence when the clocks go back
    over it; the moment the clocks went forward when they skip over it."""
    first = naive.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # Skipped: read with the offset before the jump (fold 0) it is after the jump; read with
    # the offset after it (fold 1) it is before. The jump is the first whole second between
    # them that the zone already reads with the later offset.
    later = naive.replace(tzinfo=tz, fold=1)
    offset_after = later.utcoffset()
    lo = int(later.astimezone(UTC).timestamp())
    hi = int(first.astimezone(UTC).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == offset_after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC).astimezone(tz)
