"""Filling the index from the WORM vault alone (``index rebuild|update --from-vault URL``).

Every session the vault holds - including one whose segments are hidden by a delete marker or
covered by a newer version - is restored to a temporary directory, each segment by the
version its receipt records (:mod:`agent.ship.restore`), then verified and indexed like local
journals. Vault anomalies are listed in the report (``anomalies``): the session is still
indexed from the originals, and the command exits 1 so that nobody mistakes a tampered vault
for a clean one. Hold and retain-until come from the record versions' own state; decryption
uses this home's keyring.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from agent.config import Config
from agent.errors import VaultError
from agent.index.backend import open_index
from agent.index.custody import restore_all
from agent.index.indexer import (
    IndexReport,
    _optimize,
    _trust,
    index_dir,
)
from agent.keys import Keyring


def _from_vault(
    home: Path,
    config: Config,
    url: str,
    *,
    rebuild: bool,
    trust_dir: Path | None = None,
    workdir: Path | None = None,
) -> IndexReport:
    from agent.ship.urls import open_vault

    t0 = time.monotonic()
    vault = open_vault(url)
    trust = _trust(home, trust_dir)
    tmp = Path(tempfile.mkdtemp(prefix="sessiontape-index-", dir=workdir))
    try:
        custody, anomalies, held = restore_all(vault, tmp / "journals")
        ix = open_index(home, config, rekey=rebuild)
        try:
            if rebuild:
                ix.clear()
            rep = index_dir(
                ix,
                tmp,
                Keyring.load(home),
                trust,
                limits=config.index.limits(),
                custody=custody,
                source="vault",
            )
            _optimize(ix)
        finally:
            ix.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rep.anomalies = anomalies
    if held and rep.sessions == 0:
        raise VaultError(f"{url}: the vault holds {held} sessions but none could be indexed")
    rep.seconds = time.monotonic() - t0
    return rep


def rebuild_from_vault(
    home: Path,
    config: Config,
    url: str,
    *,
    trust_dir: Path | None = None,
    workdir: Path | None = None,
) -> IndexReport:
    """Drop the index and rebuild it from the vault alone, each segment by recorded version."""
    return _from_vault(home, config, url, rebuild=True, trust_dir=trust_dir, workdir=workdir)


def update_from_vault(
    home: Path,
    config: Config,
    url: str,
    *,
    trust_dir: Path | None = None,
    workdir: Path | None = None,
) -> IndexReport:
    """Index the vault's segments not indexed yet (the index is kept), by recorded version."""
    return _from_vault(home, config, url, rebuild=False, trust_dir=trust_dir, workdir=workdir)
