"""Assemble a :class:`Shipper` from a home directory and the loaded config (one place)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.clock import Clock, SystemClock
from agent.ship.audit import AuditRecorder, EventCallback
from agent.ship.config import ShipConfig
from agent.ship.shipper import Shipper
from agent.ship.source import JournalSource, SegmentSource
from agent.ship.urls import open_vault
from agent.ship.vault import Vault

if TYPE_CHECKING:  # agent.config imports every stage's section, this one's too
    from agent.config import Config


def open_vaults(home: Path, cfg: ShipConfig, clock: Clock) -> dict[str, Vault]:
    """The primary vault (``ship.vault_url``, default ``file://<home>/vault``) and backup."""
    kwargs: dict[str, Any] = {"clock": clock}
    primary_url = cfg.resolved_vault_url(home)
    vaults: dict[str, Vault] = {"primary": _open(primary_url, cfg, kwargs)}
    if cfg.backup_vault_url:
        vaults["backup"] = _open(cfg.backup_vault_url, cfg, kwargs)
    return vaults


def _open(url: str, cfg: ShipConfig, kwargs: dict[str, Any]) -> Vault:
    if url.startswith("s3://"):
        return open_vault(url, max_put_bytes=cfg.max_put_bytes, **kwargs)
    return open_vault(url, **kwargs)


def build_shipper(
    home: Path,
    cfg: ShipConfig,
    *,
    clock: Clock | None = None,
    source: SegmentSource | None = None,
    sink: EventCallback | None = None,
    vaults: dict[str, Vault] | None = None,
    config: Config | None = None,
) -> Shipper:
    """A shipper on the real journal of ``home`` with the configured vaults.

    Its audit records (holds, dispositions, re-verification) go to ``sink``, by default the
    sealed access-audit journal of ``home`` written with ``config`` (default: the home's
    configuration).
    """
    clock = clock or SystemClock()
    home = Path(home)
    if sink is None:
        from agent.audit import SealedAuditSink
        from agent.config import load_config

        sink = SealedAuditSink(home, config or load_config(home=home))
    return Shipper(
        home,
        cfg,
        vaults or open_vaults(home, cfg, clock),
        source or JournalSource(home),
        clock=clock,
        audit=AuditRecorder(home / "ship", clock, sink),
    )
