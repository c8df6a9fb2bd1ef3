"""The review queue as the running console works it: its own connection on the console
database, one operation at a time, every change audited as the signed-in principal.

The console's account store keeps one SQLite connection for sessions and accounts; the
review queue gets a second connection on the same file (:func:`open_review_db`) with its own
lock, so a review transaction never interleaves with a session update on one connection, and
SQLite's file lock (with a busy timeout) orders the two. The scheduled sampling
(:mod:`agent.console.review_job`) uses the same desk.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from agent.clock import Clock
from agent.config import Config
from agent.console.identity import Principal
from agent.console.review import ReviewQueue, SampleRun
from agent.console.review_schema import open_review_db

T = TypeVar("T")
ConsoleAudit = Callable[[Principal | None, str, dict[str, Any]], object]
"""The console's audit writer: ``(principal, kind, payload)``; raises when not written."""


class ReviewDesk:
    """The review queue of firm home ``home`` (open until :meth:`close`)."""

    def __init__(self, home: Path, config: Config, audit: ConsoleAudit, clock: Clock) -> None:
        self.home = Path(home)
        self.config = config
        self.con = open_review_db(config.console.state_dir(home) / "console.db")
        self._lock = threading.Lock()

        def queue_audit(kind: str, payload: dict[str, Any], who: Principal) -> object:
            return audit(who, kind, payload)

        self.queue = ReviewQueue(self.con, config.console.review, queue_audit, clock=clock)

    def run(self, fn: Callable[[ReviewQueue], T]) -> T:
        """``fn(queue)`` alone on the desk's connection."""
        with self._lock:
            return fn(self.queue)

    def sample(self, day: dt.date, principal: Principal) -> SampleRun:
        """Sample ``day`` by the configured policy (the firm's index, the sampling key)."""
        from agent.console.review_sampling import load_or_create_sampling_key
        from agent.index.indexer import open_index

        policy = self.config.console.review
        key = load_or_create_sampling_key(policy.resolved_key_file(self.home))
        ix = open_index(self.home, self.config, readonly=True)
        try:
            return self.run(lambda q: q.sample_day(day, ix, key, principal))
        finally:
            ix.close()

    def close(self) -> None:
        with self._lock:
            self.con.close()
