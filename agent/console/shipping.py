"""Shipping the console's audit to WORM: the firm home's sealed audit sessions go to its
vault (``ship.vault_url``) like any record, on the firm home's ship settings.

``console serve`` runs :func:`ship_pass` every ``console.ship_audit_seconds`` in a background
thread (0: never - then run ``sessiontape ship`` or ``sessiontape agent`` in the firm home).
A pass that fails is logged and retried at the next one; the audit records stay sealed in the
home until the vault confirms them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from agent.config import Config
from agent.errors import SessiontapeError

log = structlog.get_logger("sessiontape.console")


def ship_pass(home: Path, config: Config) -> list[str]:
    """One ship pass of the firm home (its sealed audit sessions among them); the keys
    shipped."""
    from agent.ship.runtime import build_shipper

    shipper = build_shipper(home, config.ship, config=config)
    res = shipper.ship_once()
    if res.paused:
        log.warning("console.audit_ship_paused", reason=res.paused)
    return list(res.shipped)


def start_shipping(home: Path, config: Config, stop: threading.Event) -> threading.Thread | None:
    """The background thread shipping the audit until ``stop`` is set (None when off)."""
    every = config.console.ship_audit_seconds
    if every <= 0:
        return None

    def loop() -> None:
        while not stop.wait(every):
            try:
                ship_pass(home, config)
            except SessiontapeError as exc:  # retried at the next pass; the records stay sealed
                log.warning("console.audit_ship_failed", error=exc.message)

    t = threading.Thread(target=loop, name="console-audit-ship", daemon=True)
    t.start()
    return t
