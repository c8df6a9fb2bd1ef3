"""Checkpoints streamed to the vault while a recording runs.

A recording with a configured vault (``ship.vault_url`` set, ``ship.stream_checkpoints`` on,
the default) starts a :class:`CheckpointStream`: a daemon thread that every
``ship.checkpoint_interval_seconds`` ships each new signed checkpoint of the home's unshipped
segments (:func:`agent.ship.checkpoints.ship_checkpoints`), and one last time when the
recording stops. What the workstation can then erase unseen is the tail after the newest
checkpoint that reached the vault; :meth:`CheckpointStream.stop` reports that checkpoint, so
the recording's result shows the loss window. The default in-home file vault is not streamed
to: a vault inside the recorded account's home protects nothing from that account.
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


def start_stream(home: Path, cfg: ShipConfig, clock: Clock) -> CheckpointStream | None:
    """A running stream when a vault is configured and streaming is on, else None."""
    if not (cfg.stream_checkpoints and cfg.vault_url):
        return None
    try:
        return CheckpointStream(home, cfg, clock).start()
    except Exception as exc:  # a vault that cannot be opened must not stop the recording
        log.warning("ship.stream_not_started", error=f"{type(exc).__name__}: {exc}")
        return None
