"""The agent's scheduled jobs beside the recording: the ship jobs and the local index update,
on one APScheduler in a thread of the agent process (:class:`SchedulerThread`).

``job_index`` is module-level and takes only the home path (the job store pickles jobs by
reference); it finds the configuration the agent was started with through
:func:`register_config`, or loads the home's when a stored job runs first.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from agent.errors import SessiontapeError

if TYPE_CHECKING:
    from agent.config import Config
    from agent.health.board import StatusBoard
    from agent.ship.scheduler import Job
    from agent.ship.shipper import Shipper

log = structlog.get_logger("sessiontape.workstation")
_CONFIGS: dict[str, Config] = {}
_LOCK = threading.Lock()


def register_config(home: Path, config: Config) -> str:
    """Make ``config`` the one the jobs of ``home`` use; the key the jobs carry."""
    key = str(home.resolve())
    with _LOCK:
        _CONFIGS[key] = config
    return key


def _config(home: str) -> Config:
    with _LOCK:
        cfg = _CONFIGS.get(home)
    if cfg is None:
        from agent.config import load_config

        cfg = load_config(home=Path(home))
    return cfg


def job_index(home: str) -> None:
    """Scheduled: index the home's sealed segments not indexed yet (each verified first)."""
    from agent.index.indexer import index_new_segments

    try:
        rep = index_new_segments(Path(home), _config(home))
    except SessiontapeError as exc:
        log.error("workstation.index_failed", error=exc.message, retryable=exc.retryable)
        return
    except Exception as exc:  # a job must never kill the scheduler; the next run retries
        log.exception("workstation.index_crashed", error=str(exc))
        return
    log.info(
        "workstation.index_updated",
        segments=rep.segments_indexed,
        failed=len(rep.failed),
        undecryptable=len(rep.undecryptable),
    )


def agent_jobs(home: Path, config: Config) -> list[Job]:
    """The jobs the workstation agent adds to the ship jobs (none when disabled)."""
    register_config(home, config)
    seconds = config.agent.index_interval_seconds
    if seconds <= 0:
        return []
    return [("index", job_index, seconds)]


class SchedulerThread:
    """The ship jobs (and ``extra_jobs``) running in a thread until :meth:`stop`."""

    def __init__(
        self, shipper: Shipper, extra_jobs: list[Job], board: StatusBoard | None = None
    ) -> None:
        self.shipper = shipper
        self.extra_jobs = extra_jobs
        self.board = board
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sessiontape-jobs", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        from agent.ship.scheduler import run_agent

        board = self.board
        interval = self.shipper.cfg.interval_seconds
        try:
            run_agent(
                self.shipper,
                stop=self._stop,
                extra_jobs=self.extra_jobs,
                on_job=board.job_run if board is not None else None,
                on_started=(lambda s: board.watch_scheduler(s, interval)) if board else None,
            )
        except BaseException as exc:  # reported by stop(); the recording goes on meanwhile
            self.error = exc
            log.exception("workstation.jobs_crashed", error=str(exc))
            if board is not None:
                board.error(f"the scheduled jobs stopped: {exc}"[:300])

    def start(self) -> None:
        """Start the scheduler thread."""
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the jobs (a running job finishes first) and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
