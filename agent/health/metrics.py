"""The status document as Prometheus text exposition (format 0.0.4), names ``sessiontape_*``.

A value that is unknown (no durable event yet, no checkpoint in the vault, no ship run yet)
is left out rather than given a made-up number: an alert on ``absent(...)`` sees it.
"""

from __future__ import annotations

from typing import Any

NS = 1_000_000_000
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SHIP_JOB_STATES = ("ok", "failing", "late", "stopped", "unknown")

# name, type, help, how to read the value from the status document
_METRICS: tuple[tuple[str, str, str, Any], ...] = (
    ("recording", "gauge", "1 while a recording runs.", lambda s: int(s["recording"])),
    ("tabs_recorded", "gauge", "Tabs being recorded now.", lambda s: s["tabs"]),
    (
        "last_durable_event_age_seconds",
        "gauge",
        "Seconds since events were last made durable in the journal.",
        lambda s: s["last_durable_event_age_s"],
    ),
    (
        "checkpoint_age_seconds",
        "gauge",
        "Seconds since the newest checkpoint reached the vault.",
        lambda s: (s["last_checkpoint"] or {}).get("age_s"),
    ),
    (
        "ship_backlog_segments",
        "gauge",
        "Segment files on disk not yet in the vault (the open one included).",
        lambda s: s["ship_backlog"]["segments"],
    ),
    (
        "ship_backlog_bytes",
        "gauge",
        "Bytes of the segment files not yet in the vault.",
        lambda s: s["ship_backlog"]["bytes"],
    ),
    (
        "ship_backlog_failing_segments",
        "gauge",
        "Segments whose last upload attempt failed.",
        lambda s: s["ship_backlog"]["failing"],
    ),
    (
        "disk_free_bytes",
        "gauge",
        "Bytes free on the filesystem of the agent's home.",
        lambda s: s["disk_free_bytes"],
    ),
    (
        "ship_last_run_age_seconds",
        "gauge",
        "Seconds since the ship job last finished a run.",
        lambda s: s["ship_job"]["last_run_age_s"],
    ),
    (
        "ship_last_run_ok",
        "gauge",
        "1 when the ship job's last run ended without error.",
        lambda s: None if s["ship_job"]["last_ok"] is None else int(s["ship_job"]["last_ok"]),
    ),
    (
        "last_error_timestamp_seconds",
        "gauge",
        "Unix time of the agent's last error.",
        lambda s: None if s["last_error"] is None else s["last_error"]["at_ns"] / NS,
    ),
    (
        "start_time_seconds",
        "gauge",
        "Unix time the agent started.",
        lambda s: s["started_ns"] / NS,
    ),
)


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(status: dict[str, Any]) -> str:
    """The exposition text of ``status`` (a :meth:`StatusBoard.snapshot`)."""
    lines: list[str] = []
    for name, kind, help_text, read in _METRICS:
        value = read(status)
        lines += [f"# HELP sessiontape_{name} {help_text}", f"# TYPE sessiontape_{name} {kind}"]
        if value is not None:
            lines.append(f"sessiontape_{name} {_number(value)}")
    state = status["ship_job"]["state"]
    lines += [
        "# HELP sessiontape_ship_job_state The ship job's state (1 for the current one).",
        "# TYPE sessiontape_ship_job_state gauge",
    ]
    lines += [
        f'sessiontape_ship_job_state{{state="{s}"}} {int(s == state)}' for s in SHIP_JOB_STATES
    ]
    lines += [
        "# HELP sessiontape_info The agent's version and pid (value 1).",
        "# TYPE sessiontape_info gauge",
        f'sessiontape_info{{version="{_escape(str(status["version"]))}",pid="{status["pid"]}"}} 1',
    ]
    return "\n".join(lines) + "\n"
