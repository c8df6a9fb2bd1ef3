"""Audit records of the ship stage (``audit.verify``, ``audit.hold``, ``audit.disposition``).

Each record is an :class:`agent.events.Event` handed first to the ``sink`` callback - the
sealed access-audit journal, wired by :func:`agent.ship.runtime.build_shipper` - and then
appended, fsynced, to a JSONL file under ``<home>/ship/`` (``reverify.jsonl`` for
``audit.verify``, ``audit.jsonl`` for the rest; a local status file, not the evidence). If the
sink cannot write the record it raises, nothing is appended, and the caller does not proceed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from agent.clock import Clock
from agent.errors import VaultError
from agent.events import Event

EventCallback = Callable[[Event], None]
_FILES = {"audit.verify": "reverify.jsonl"}


class AuditRecorder:
    """Build, validate and persist ship audit events."""

    def __init__(self, directory: Path, clock: Clock, sink: EventCallback | None = None) -> None:
        self.directory = Path(directory)
        self.clock = clock
        self.sink = sink
        self._lock = threading.Lock()

    def path_for(self, kind: str) -> Path:
        """The JSONL file a kind is written to."""
        return self.directory / _FILES.get(kind, "audit.jsonl")

    def batch(self) -> AbstractContextManager[Any]:
        """Records inside the ``with`` block share one sealed audit session (when the sink
        supports it, as :class:`agent.audit.SealedAuditSink` does)."""
        batch = getattr(self.sink, "batch", None)
        return batch() if callable(batch) else nullcontext()

    def record(self, kind: str, payload: dict[str, Any]) -> Event:
        """Pass one audit event to the sink (sealed audit journal), then persist it (JSONL,
        fsynced). Raises when either cannot be written."""
        ev = Event(
            kind=kind, payload=payload, t_utc_ns=self.clock.utc_ns(), t_mono_ns=self.clock.mono_ns()
        )
        ev.validate()
        line = (
            json.dumps(
                {"v": 1, "kind": kind, "t_utc_ns": ev.t_utc_ns, "payload": payload},
                sort_keys=True,
                separators=(",", ":"),
            )
            + "\n"
        )
        if self.sink is not None:
            self.sink(ev)
        path = self.path_for(kind)
        with self._lock:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as exc:
                raise VaultError(
                    f"{path}: cannot write audit record: {exc}", retryable=True
                ) from exc
        return ev

    def read(self, kind: str) -> list[dict[str, Any]]:
        """Records of ``kind`` from its JSONL file (for status and tests)."""
        path = self.path_for(kind)
        if not path.exists():
            return []
        out = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        return [r for r in out if r["kind"] == kind]
