"""APScheduler 3 jobs of the agent process, with a SQLite job store that survives restarts.

Jobs (ids fixed, ``replace_existing``, ``coalesce``, one instance each):

=============  =====================================  ==========================================
id             every                                  does
=============  =====================================  ==========================================
ship           ``ship.interval_seconds`` (15)         scan + ship sealed segments (≤ 60 s)
checkpoints    ``ship.checkpoint_interval_seconds``   ship signed checkpoints of open segments
reverify       ``ship.reverify_interval_seconds``     new objects + rolling sample
posture        ``ship.posture_interval_seconds``      versioning / Object Lock / retention / clock
retention      ``ship.retention_interval_seconds``    re-apply holds, local retention, disposition
=============  =====================================  ==========================================

The agent process may add jobs of its own (``extra_jobs``, same shape: id, module-level
function of the home path, interval); a stored job that is no longer asked for is removed at
start. The job store is ``SQLAlchemyJobStore`` on ``sqlite:///<home>/ship/jobs.sqlite``; job
functions are module-level and take only the home path, so they pickle. Pending *work* lives
in ``state.db`` anyway; the job store keeps the schedule (and missed runs) across restarts.

A listener given to :func:`build_scheduler` (``on_job``) hears every run of every job: a
:class:`JobRun` when it starts and one when it ends (ok, or the error). It is kept per home
beside the runtime, since the pickled jobs carry only the home; a listener that raises is
logged and never stops the job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import structlog

from agent.errors import SessiontapeError
from agent.platform.memory import release_free_memory
from agent.ship.shipper import Shipper

log = structlog.get_logger("sessiontape.ship")
Job = tuple[str, Callable[[str], None], int]  # id, function of the home path, every N s
_RUNTIMES: dict[str, Shipper] = {}
_LISTENERS: dict[str, JobListener] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class JobRun:
    """One job run starting (``ok`` None) or ending (``ok``, and ``error`` when it failed)."""

    job: str
    phase: Literal["start", "end"]
    t_utc_ns: int
    ok: bool | None = None
    error: str = ""


JobListener = Callable[[JobRun], None]


def _report(home: str, run: JobRun) -> None:
    with _LOCK:
        listener = _LISTENERS.get(home)
    if listener is None:
        return
    try:
        listener(run)
    except Exception as exc:  # health reporting must never fail a job
        log.warning("ship.job_listener_failed", job=run.job, error=str(exc))


def register_runtime(shipper: Shipper) -> str:
    """Make ``shipper`` the one the jobs of its home use; returns the key the jobs carry."""
    key = str(shipper.home.resolve())
    with _LOCK:
        _RUNTIMES[key] = shipper
    return key


def _runtime(home: str) -> Shipper:
    with _LOCK:
        sh = _RUNTIMES.get(home)
    if sh is None:  # a job restored from the store before the agent registered: build one
        from agent.config import load_config
        from agent.ship.runtime import build_shipper

        cfg = load_config(home=Path(home))
        sh = build_shipper(Path(home), cfg.ship, config=cfg)
        register_runtime(sh)
    return sh


def _guard(name: str, fn: Callable[[Shipper], Any], home: str) -> None:
    _report(home, JobRun(name, "start", time.time_ns()))
    error = ""
    try:
        result = fn(_runtime(home))
        log.debug("ship.job_done", job=name, result=str(result)[:200])
        error = _result_error(result)
    except SessiontapeError as exc:
        log.error("ship.job_failed", job=name, error=exc.message, retryable=exc.retryable)
        error = exc.message
    except Exception as exc:  # a job must never kill the scheduler; the next run retries
        log.exception("ship.job_crashed", job=name, error=str(exc))
        error = f"{type(exc).__name__}: {exc}"
    _report(home, JobRun(name, "end", time.time_ns(), ok=not error, error=error))


def _after_job(_event: Any) -> None:
    """Each job run ends by giving the memory it freed back (see :mod:`agent.platform.memory`)."""
    release_free_memory()


def _result_error(result: Any) -> str:
    """What a pass that returned normally still failed at: a pause, segments not shipped."""
    paused = getattr(result, "paused", None)
    if paused:
        return f"paused: {paused}"
    failed = getattr(result, "failed", None)
    if isinstance(failed, dict) and failed:
        key, message = next(iter(failed.items()))
        return f"{len(failed)} segment(s) not shipped; {key}: {message}"
    return ""


def job_ship(home: str) -> None:
    """Scheduled: one shipping pass."""
    _guard("ship", lambda s: s.ship_once(), home)


def job_checkpoints(home: str) -> None:
    """Scheduled: ship new checkpoints."""
    from agent.ship.checkpoints import ship_checkpoints

    _guard("checkpoints", ship_checkpoints, home)


def job_reverify(home: str) -> None:
    """Scheduled: re-verify new + sampled stored objects."""
    from agent.ship.reverify import reverify_once

    _guard("reverify", reverify_once, home)


def job_posture(home: str) -> None:
    """Scheduled: the daily posture check."""
    _guard("posture", lambda s: s.check_posture(force=True), home)


def job_retention(home: str) -> None:
    """Scheduled: local retention, then disposition records."""
    from agent.actor import os_actor
    from agent.ship.holds import dispose, expired, reapply_holds

    def run(s: Shipper) -> Any:
        done = (
            reapply_holds(s),
            s.apply_local_retention(),
            dispose(s, execute=False, actor=os_actor().name),
        )
        rows = expired(s)
        eligible = [r for r in rows if not r["held"]]
        if rows:
            log.info("ship.expired", eligible=len(eligible), held=len(rows) - len(eligible))
        for r in eligible:
            log.info(
                "ship.disposable",
                key=r["key"],
                session_id=r["session_id"],
                record_class=r["record_class"],
                retain_until=r["retain_until"],
            )
        return done

    _guard("retention", run, home)


def build_scheduler(
    shipper: Shipper,
    *,
    blocking: bool = False,
    jobstore_url: str | None = None,
    on_job: JobListener | None = None,
    extra_jobs: Sequence[Job] = (),
) -> Any:
    """A configured (not started) APScheduler with the five ship jobs and ``extra_jobs``;
    ``on_job`` hears each run's start and end."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    home = register_runtime(shipper)
    with _LOCK:
        if on_job is None:
            _LISTENERS.pop(home, None)
        else:
            _LISTENERS[home] = on_job
    shipper.dir.mkdir(parents=True, exist_ok=True)
    url = jobstore_url or f"sqlite:///{shipper.dir.resolve() / 'jobs.sqlite'}"
    cls = BlockingScheduler if blocking else BackgroundScheduler
    sched = cls(
        jobstores={"default": SQLAlchemyJobStore(url=url)},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone="UTC",
    )
    sched.add_listener(_after_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    c = shipper.cfg
    jobs: list[Job] = [
        ("ship", job_ship, c.interval_seconds),
        ("checkpoints", job_checkpoints, c.checkpoint_interval_seconds),
        ("reverify", job_reverify, c.reverify_interval_seconds),
        ("posture", job_posture, c.posture_interval_seconds),
        ("retention", job_retention, c.retention_interval_seconds),
        *extra_jobs,
    ]
    for job_id, fn, seconds in jobs:
        sched.add_job(
            fn,
            "interval",
            seconds=seconds,
            id=job_id,
            args=[home],
            replace_existing=True,
            name=f"ship.{job_id}",
        )
    return sched


def run_agent(
    shipper: Shipper,
    *,
    stop: threading.Event | None = None,
    on_job: JobListener | None = None,
    extra_jobs: Sequence[Job] = (),
    on_started: Callable[[Any], None] | None = None,
) -> None:
    """Run the jobs (the ship jobs and ``extra_jobs``) until ``stop`` is set or Ctrl-C; shut
    down cleanly; ``on_job`` hears each run, ``on_started`` gets the running scheduler."""
    shipper.check_posture(force=True)
    if shipper.paused:
        log.error("ship.paused_at_start", alert=True, reason=shipper.paused)
    sched = build_scheduler(shipper, on_job=on_job, extra_jobs=extra_jobs)
    sched.start()
    wanted = {"ship", "checkpoints", "reverify", "posture", "retention"}
    wanted.update(job_id for job_id, _fn, _s in extra_jobs)
    for job in sched.get_jobs():  # e.g. the index job of an earlier run with a browser
        if job.id not in wanted:
            sched.remove_job(job.id)
    for job_id in ("ship", "checkpoints"):
        sched.modify_job(job_id, next_run_time=_now_utc())
    if on_started is not None:
        on_started(sched)
    stop = stop or threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        log.info("ship.agent_interrupted")
    finally:
        sched.shutdown(wait=True)
        log.info("ship.agent_stopped")


def _now_utc() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)
