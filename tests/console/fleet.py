"""A firm home and workstations that record and ship to one moto bucket, for ingest tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.bench.fleet_agents import SimAgent, make_firm
from agent.config import Config, load_config
from agent.console.ingest import IngestWorker
from agent.index.base import SearchIndex
from agent.index.cipher import index_key
from agent.index.sqlite import SqliteIndex
from agent.ship.urls import open_vault
from agent.ship.vault import Vault


@dataclass
class Fleet:
    """The firm home, its public key, the vault and the workstations shipping to it."""

    root: Path
    firm: Path
    pem: Path
    url: str
    agents: list[SimAgent] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    @property
    def config(self) -> Config:
        return load_config(env={}, home=self.firm)

    @property
    def vault(self) -> Vault:
        return open_vault(self.url)

    def add_agent(self, pem: Path | None = None, *, enroll: bool = True) -> SimAgent:
        """A new workstation wrapping its data keys to ``pem`` (default: this firm's key),
        whose public key the firm trusts (unless not ``enroll``)."""
        n = len(self.agents)
        a = SimAgent.create(self.root, n, self.firm, pem or self.pem, self.url, enroll=enroll)
        self.agents.append(a)
        return a

    def record_and_ship(self, agent: SimAgent, *segments: int) -> list[str]:
        """One session per entry of ``segments`` (its segment count), then ship them all."""
        sids = [agent.record(self.rng, segments=n, actions=3) for n in segments]
        agent.ship()
        return sids

    def index(self, path: Path | None = None) -> SqliteIndex:
        """The firm's SQLite index (``<firm>/index.db`` unless ``path``)."""
        return SqliteIndex(path or self.firm / "index.db", key=index_key(self.firm))

    def worker(self, index: SearchIndex, *, receipt_grace_s: float = 300.0) -> IngestWorker:
        """A worker of the firm home over ``index`` following the fleet's vault."""
        return IngestWorker(
            self.firm, self.config, index, self.vault, receipt_grace_s=receipt_grace_s
        )

    def segment_keys(self) -> list[str]:
        """Every segment key of the vault (not the receipts)."""
        return [k for k in self.vault.list("segments/") if k.endswith(".stj")]


@pytest.fixture
def fleet(tmp_path: Path, lock_bucket: str) -> Fleet:
    """A firm home and an empty prefix of a fresh Object Lock bucket (no workstations yet)."""
    firm = tmp_path / "firm"
    pem = make_firm(firm)
    return Fleet(tmp_path, firm, pem, f"s3://{lock_bucket}/desk")
