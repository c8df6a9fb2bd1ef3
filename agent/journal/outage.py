"""Write outages: what failed commits refused, and the ``capture.gap`` that says so.

While commits fail (a full disk, an I/O error) the journal counts the events it refused;
when a commit succeeds again it writes, first in that commit, a ``capture.gap`` with
``cause`` ``disk_full`` (or ``write_failed`` for any other write error), the outage's
``start``/``end`` UTC ns and ``lost_events``: the refused events that were never written. An
event refused and then handed in again (strict durability retries the same events) is
counted once, and not at all once it is written: the record says exactly what is missing.

What is known is also kept in the session's ``outage.json``, a file of fixed size allocated
when the session opens, so it can be rewritten in place on a full disk. When the agent dies
or gives up sealing during an outage, recovery reads it and labels the gap it writes
``disk_full`` with the count, instead of ``agent_crash`` with none.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agent.errors import JournalError, io_error_text, is_disk_full
from agent.events import Event

DISK_FULL = "disk_full"  # gap causes, registered in agent.kinds.GAP_CAUSES
WRITE_FAILED = "write_failed"
SIDECAR = "outage.json"
_SIDECAR_BYTES = 4096


@dataclass
class OutageState:
    """What one session's sidecar records: an outage not yet written as a gap."""

    start_utc_ns: int
    cause: str
    lost_events: int
    segment: str | None = None  # the file name of the segment left unsealed, if any

    def as_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "start_utc_ns": self.start_utc_ns,
            "cause": self.cause,
            "lost_events": self.lost_events,
            "segment": self.segment,
        }


class Sidecar:
    """``<session>/outage.json``: allocated up front, rewritten in place, never grown."""

    def __init__(self, sdir: Path) -> None:
        self.path = sdir / SIDECAR

    def allocate(self) -> None:
        """Create the file at its full size (zeros: nothing recorded) unless it exists."""
        if self.path.exists() and self.path.stat().st_size >= _SIDECAR_BYTES:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.write(fd, bytes(_SIDECAR_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self.path.unlink(missing_ok=True)
            raise JournalError(f"{self.path}: cannot create: {io_error_text(exc)}") from exc

    def write(self, state: OutageState | None) -> bool:
        """Record ``state`` (None: clear) in place; False when even that failed."""
        data = orjson.dumps(state.as_json()) if state is not None else b""
        data = data.ljust(_SIDECAR_BYTES, b"\0")[:_SIDECAR_BYTES]
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except OSError:
            return False
        try:
            os.pwrite(fd, data, 0)
            os.fsync(fd)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def read(self) -> OutageState | None:
        """The recorded outage, or None (nothing recorded, no file, unreadable)."""
        try:
            raw = self.path.read_bytes().rstrip(b"\0")
            doc = orjson.loads(raw) if raw else None
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("v") != 1:
            return None
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return OutageState(
                int(doc["start_utc_ns"]),
                str(doc["cause"]),
                int(doc["lost_events"]),
                doc.get("segment"),
            )
        return None


class _WeakIdentitySet:
    """Events by identity, without keeping them alive (events compare by value, unhashable)."""

    def __init__(self) -> None:
        self._refs: dict[int, weakref.ref[Event]] = {}

    def __contains__(self, ev: Event) -> bool:
        ref = self._refs.get(id(ev))
        return ref is not None and ref() is ev

    def add(self, ev: Event) -> None:
        key = id(ev)
        refs = self._refs
        self._refs[key] = weakref.ref(ev, lambda _r: refs.pop(key, None))


class Outage:
    """Counts refused events until a commit succeeds; then yields the gap to write first."""

    def __init__(self, sidecar: Sidecar | None = None) -> None:
        self.sidecar = sidecar
        self.state: OutageState | None = None
        self._refused = _WeakIdentitySet()
        self.failed_commits = 0

    def refused(self, events: Sequence[Event], exc: BaseException, now_utc_ns: int) -> None:
        """A commit of ``events`` failed with ``exc``: count the events not counted yet."""
        new = [ev for ev in events if ev not in self._refused]
        cause = DISK_FULL if is_disk_full(exc) else WRITE_FAILED
        if self.state is None:
            self.state = OutageState(now_utc_ns, cause, 0)
        elif cause == DISK_FULL:
            self.state.cause = DISK_FULL
        self.state.lost_events += len(new)
        for ev in new:
            self._refused.add(ev)
        self.failed_commits += 1
        if self.sidecar is not None:
            self.sidecar.write(self.state)

    def gap_for(self, events: Sequence[Event], now_utc_ns: int, now_mono_ns: int) -> Event | None:
        """The gap to commit before ``events`` (those of them refused before are not lost)."""
        if self.state is None:
            return None
        again = sum(1 for ev in events if ev in self._refused)
        lost = self.state.lost_events - again
        if lost <= 0:
            return None
        payload = {
            "start": self.state.start_utc_ns,
            "end": now_utc_ns,
            "cause": self.state.cause,
            "lost_events": lost,
            "failed_commits": self.failed_commits,
        }
        return Event("capture.gap", payload, now_utc_ns, now_mono_ns)

    def ended(self) -> None:
        """A commit succeeded (with the gap, if one was due): the outage is on the record."""
        if self.state is None:
            return
        self.state = None
        self._refused = _WeakIdentitySet()
        self.failed_commits = 0
        if self.sidecar is not None:
            self.sidecar.write(None)

    def left_unsealed(self, segment: Path) -> None:
        """Closing gave up: name the unsealed segment so recovery can label its gap."""
        if self.state is not None:
            self.state.segment = segment.name
            if self.sidecar is not None:
                self.sidecar.write(self.state)
