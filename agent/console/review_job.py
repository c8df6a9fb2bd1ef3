"""The daily review sampling while ``console serve`` runs.

At ``console.review.sample_at`` (``HH:MM``, local in ``console.review.timezone``) a thread
samples the previous local day, as the principal ``system:review-scheduler`` (admin role),
through the same :class:`~agent.console.review_desk.ReviewDesk` as the pages, so each run and
each item added is audited. Re-running a day adds nothing twice, so a restart that runs it
again is harmless; a day missed while the console was down is sampled with
``console review sample --day``. A failed run is logged and tried again the next day. An
empty ``sample_at`` turns the job off.
"""

from __future__ import annotations

import datetime as dt
import threading

import structlog

from agent.clock import Clock, dt_to_ns, ns_to_dt
from agent.console.identity import ADMIN, Principal
from agent.console.review_config import ReviewConfig
from agent.console.review_desk import ReviewDesk
from agent.errors import SessiontapeError

log = structlog.get_logger("sessiontape.console")
SCHEDULER = Principal("system:review-scheduler", "review scheduler", frozenset({ADMIN}))


def next_run(now_ns: int, config: ReviewConfig) -> tuple[int, dt.date] | None:
    """(UTC ns of the next scheduled run after ``now_ns``, the day it samples), or None when
    the job is off."""
    at = config.sample_time()
    if at is None:
        return None
    zone = config.zone()
    local = ns_to_dt(now_ns).astimezone(zone)
    run = dt.datetime.combine(local.date(), at, tzinfo=zone)
    if run <= local:
        run = dt.datetime.combine(local.date() + dt.timedelta(days=1), at, tzinfo=zone)
    return dt_to_ns(run), run.date() - dt.timedelta(days=1)


def start_review_job(
    desk: ReviewDesk, clock: Clock, stop: threading.Event
) -> threading.Thread | None:
    """The thread sampling the previous day at the configured time until ``stop`` is set
    (None when the job is off)."""
    policy = desk.config.console.review
    if next_run(clock.utc_ns(), policy) is None:
        return None

    def loop() -> None:
        after = 0  # the last run's time: a wait that wakes early does not run a day twice
        while True:
            planned = next_run(max(clock.utc_ns(), after), policy)
            assert planned is not None
            at_ns, day = planned
            after = at_ns
            if stop.wait(max(0.0, (at_ns - clock.utc_ns()) / 1e9)):
                return
            try:
                run = desk.sample(day, SCHEDULER)
                log.info("console.review_sampled", day=run.day, queued=run.items_added)
            except SessiontapeError as exc:  # tried again tomorrow; the day can be run by hand
                log.warning("console.review_sample_failed", day=str(day), error=exc.message)

    t = threading.Thread(target=loop, name="console-review-sample", daemon=True)
    t.start()
    return t
