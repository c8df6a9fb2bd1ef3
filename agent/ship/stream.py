"""Checkpoints streamed to the vault while a recording runs.

Every recording (``ship.stream_checkpoints`` on, the default) starts a
:class:`CheckpointStream`: a daemon thread that every
``ship.checkpoint_interval_seconds`` ships each new signed checkpoint of the home's unshipped
segments (:func:`agent.ship.checkpoints.ship_checkpoints`), and one last time when the
recording stops, to the resolved vault (``ship.vault_url``, or the in-home file vault). What
the workstation can then erase unseen is the tail after the newest checkpoint that reached the
vault; :meth:`CheckpointStream.stop` reports that checkpoint, so the recording's result shows
the loss window. The in-home file vault protects the record from the recorded user only when
the agent runs in its own account (privilege separation); a firm sets ``ship.vault_url`` to
WORM storage off the workstation, and only then does it bound what root can erase.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import structlog

from agent.clock import Clock
from agent.ship.config import ShipConfig

log = structlog.get_logger("sessiontape.ship")


class CheckpointStream:
    """Ships checkpoints every ``checkpoint_interval_seconds`` until :meth:`stop`."""

    def __init__(self, home: Path, cfg: ShipConfig, clock: Clock) -> None:
        from agent.ship.runtime import build_shipper

        self.url = cfg.resolved_vault_url(home)
        self._shipper = build_shipper(home, cfg, clock=clock)
        self._interval = cfg.checkpoint_interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoint-stream", daemon=True)
        self.shipped = 0

    def start(self) -> CheckpointStream:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def _pass(self) -> None:
        from agent.ship.checkpoints import ship_checkpoints

        try:
            self.shipped += ship_checkpoints(self._shipper)
        except Exception as exc:  # the recording must go on; the next pass retries
            log.warning("ship.stream_failed", error=f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._pass()

    def stop(self, session_id: str) -> dict[str, Any]:
        """Stop, ship what is left, and say how far the vault covers ``session_id``."""
        self._stop.set()
        self._thread.join(timeout=self._interval + 30)
        self._pass()
        rows = self._shipper.state.query(
            "SELECT segment_id, max(n) FROM checkpoints WHERE session_id = ? GROUP BY segment_id",
            (session_id,),
        )
        self._shipper.state.close()
        return {
            "url": self.url,
            "checkpoints_shipped": self.shipped,
            "newest_checkpoint_by_segment": {str(r[0]): int(r[1]) for r in rows},
        }


def start_stream(home: Path, cfg: ShipConfig, clock: Clock) -> CheckpointStream | str | None:
    """A running stream when streaming is on (None when turned off). A vault that cannot be
    opened does not stop the recording: the reason is returned, logged and put in the
    recording's result, so the missing coverage is visible rather than silent."""
    if not cfg.stream_checkpoints:
        return None
    try:
        return CheckpointStream(home, cfg, clock).start()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("ship.stream_not_started", error=reason)
        return f"not streaming to {cfg.resolved_vault_url(home)}: {reason}"
