"""The status board: what the agent service is doing, told by the service and read from disk.

The service tells the board what only it knows, as it happens (every method is thread-safe
and cheap; call it from any thread):

=====================================  =====================================================
when                                   call
=====================================  =====================================================
a recording starts                     ``recording_started(session_id)``
tabs open or close                     ``tabs(n)`` (the number of recorded tabs now)
a batch of events is durable           ``event_durable()`` (after ``append_many`` returned)
something fails that the person        ``error(message)`` (one line)
  watching the fleet should see
the recording stops                    ``recording_stopped()``
the ship scheduler is built            ``watch_scheduler(sched, interval_s)`` and pass
                                       ``board.job_run`` as ``build_scheduler(on_job=...)``
=====================================  =====================================================

What the service is not asked to tell is read from what exists when a status is taken
(:meth:`StatusBoard.snapshot`), cheaply (see :mod:`agent.health.facts`): the ship backlog and
the newest checkpoint that reached the vault from ``<home>/ship/state.db``, the newest journal
write from the segment files' modification times, the free space of the home's filesystem.

The ship job's state: ``ok`` (its last run ended ok, in time), ``failing`` (its last run
ended with an error; the error is shown), ``late`` (no run ended within 2 x its interval:
the job hangs, or its thread died), ``stopped`` (the scheduler is shut down or the job is no
longer scheduled), ``unknown`` (no scheduler was ever watched).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import __version__
from agent.clock import Clock, SystemClock, dt_to_ns, utc_iso
from agent.health import facts
from agent.ship.scheduler import JobRun

NS = 1_000_000_000
STATUS_VERSION = 1
SHIP_JOB = "ship"


@dataclass
class _Job:
    interval_s: float = 0.0
    last_start_ns: int | None = None
    last_end_ns: int | None = None
    last_ok: bool | None = None
    last_error: str = ""
    last_error_ns: int | None = None
    running: bool = False


def _iso(ns: int | None) -> str | None:
    return utc_iso(ns) if ns is not None else None


def _age(now: int, ns: int | None) -> float | None:
    return round((now - ns) / NS, 3) if ns is not None else None


class StatusBoard:
    """Thread-safe facts about the service; :meth:`snapshot` is the status document."""

    def __init__(self, home: Path, *, clock: Clock | None = None) -> None:
        self.home = home
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._started_ns = self.clock.utc_ns()
        self._session_id: str | None = None
        self._since_ns: int | None = None
        self._tabs = 0
        self._durable_ns: int | None = None
        self._error: tuple[int, str] | None = None
        self._job = _Job()
        self._scheduler: Any = None

    # --- what the service tells ------------------------------------------------------------
    def recording_started(self, session_id: str) -> None:
        """A recording began (session ``session_id``)."""
        with self._lock:
            self._session_id = session_id
            self._since_ns = self.clock.utc_ns()

    def recording_stopped(self) -> None:
        """The recording ended (the session id stays shown until the next one)."""
        with self._lock:
            self._since_ns = None
            self._tabs = 0

    def tabs(self, n: int) -> None:
        """The number of tabs being recorded now."""
        with self._lock:
            self._tabs = max(0, n)

    def event_durable(self, t_utc_ns: int | None = None) -> None:
        """Events were made durable (now, or at ``t_utc_ns``)."""
        t = self.clock.utc_ns() if t_utc_ns is None else t_utc_ns
        with self._lock:
            if self._durable_ns is None or t > self._durable_ns:
                self._durable_ns = t

    def error(self, message: str) -> None:
        """Something failed; the newest one is shown as the last error."""
        with self._lock:
            self._error = (self.clock.utc_ns(), message.splitlines()[0][:500] if message else "")

    def watch_scheduler(self, scheduler: Any, interval_s: float) -> None:
        """Read the ship job's next run and the scheduler's state from ``scheduler`` (an
        APScheduler); ``interval_s`` is the ship job's interval."""
        with self._lock:
            self._scheduler = scheduler
            self._job.interval_s = float(interval_s)

    def job_run(self, run: JobRun) -> None:
        """The ship scheduler's listener: a job run started or ended."""
        if run.job != SHIP_JOB:
            return
        with self._lock:
            job = self._job
            if run.phase == "start":
                job.last_start_ns = run.t_utc_ns
                job.running = True
                return
            job.last_end_ns = run.t_utc_ns
            job.running = False
            job.last_ok = bool(run.ok)
            if not run.ok:
                job.last_error = run.error
                job.last_error_ns = run.t_utc_ns

    # --- the status document ---------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The status now: what the service told, plus what is read from disk."""
        now = self.clock.utc_ns()
        with self._lock:
            session_id, since, tabs = self._session_id, self._since_ns, self._tabs
            durable, err = self._durable_ns, self._error
            job = _Job(**vars(self._job))
            scheduler = self._scheduler
        written = facts.last_journal_write_ns(self.home, session_id)
        if written is not None and (durable is None or written > durable):
            durable = written
        return {
            "v": STATUS_VERSION,
            "at": utc_iso(now),
            "at_ns": now,
            "pid": os.getpid(),
            "version": __version__,
            "started": utc_iso(self._started_ns),
            "started_ns": self._started_ns,
            "recording": since is not None,
            "recording_since": _iso(since),
            "session_id": session_id,
            "tabs": tabs,
            "last_durable_event": _iso(durable),
            "last_durable_event_age_s": _age(now, durable),
            "last_checkpoint": _checkpoint(self.home, now),
            "ship_backlog": facts.ship_backlog(self.home, now),
            "disk_free_bytes": facts.disk_free_bytes(self.home),
            "last_error": None
            if err is None
            else {"at": utc_iso(err[0]), "at_ns": err[0], "message": err[1]},
            "ship_job": _job_status(job, scheduler, now, self._started_ns),
        }


def _checkpoint(home: Path, now: int) -> dict[str, Any] | None:
    cp = facts.last_checkpoint(home)
    if cp is None:
        return None
    return {**cp, "at": utc_iso(cp["at_ns"]), "age_s": _age(now, cp["at_ns"])}


def _job_status(job: _Job, scheduler: Any, now: int, started_ns: int) -> dict[str, Any]:
    next_run, scheduled, alive = _scheduler_facts(scheduler)
    state = _job_state(job, scheduler, scheduled, alive, now, started_ns)
    return {
        "state": state,
        "interval_s": job.interval_s,
        "running": job.running,
        "last_start": _iso(job.last_start_ns),
        "last_end": _iso(job.last_end_ns),
        "last_run_age_s": _age(now, job.last_end_ns),
        "last_ok": job.last_ok,
        "last_error": job.last_error or None,
        "last_error_at": _iso(job.last_error_ns),
        "next_run": next_run,
    }


def _job_state(
    job: _Job, scheduler: Any, scheduled: bool, alive: bool, now: int, started_ns: int
) -> str:
    if scheduler is None:
        return "unknown"
    if not alive or not scheduled:
        return "stopped"
    since = job.last_end_ns if job.last_end_ns is not None else started_ns
    if job.interval_s and now - since > 2 * job.interval_s * NS:
        return "late"
    if job.last_ok is False:
        return "failing"
    return "ok"


def _scheduler_facts(scheduler: Any) -> tuple[str | None, bool, bool]:
    """(next run ISO, the ship job is scheduled, the scheduler runs) of an APScheduler."""
    if scheduler is None:
        return None, False, False
    try:
        alive = bool(scheduler.running)
        found = scheduler.get_job(SHIP_JOB)
    except Exception:  # a scheduler shut down mid-call, a job store gone: treat as stopped
        return None, False, False
    when = getattr(found, "next_run_time", None) if found is not None else None
    next_run = utc_iso(dt_to_ns(when)) if when is not None else None
    return next_run, found is not None and when is not None, alive
