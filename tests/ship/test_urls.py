"""Vault URLs: which schemes open which backend, and which are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import ConfigError, VaultError
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.runtime import open_vaults
from agent.ship.testing import MemoryVault
from agent.ship.urls import open_vault
from agent.testing import FakeClock


def test_unsupported_or_relative_vault_urls_are_refused() -> None:
    """Vault URLs are s3://bucket/prefix or file:///absolute."""
    with pytest.raises(ConfigError, match="unsupported vault URL"):
        open_vault("ftp://x/y")
    with pytest.raises(VaultError, match="absolute path"):
        open_vault("file://relative/dir")
    with pytest.raises(VaultError, match="no bucket"):
        open_vault("s3:///prefix")


def test_file_url_opens_a_file_vault_at_that_path(tmp_path: Path) -> None:
    """file:///abs/dir is a FileVault rooted there."""
    v = open_vault(f"file://{tmp_path / 'v'}", clock=FakeClock())
    assert isinstance(v, FileVault)
    assert v.root == tmp_path / "v"


def test_memory_vault_url_is_refused_without_the_test_opt_in() -> None:
    """memory:// is for tests only: without allow_memory it is a ConfigError saying so."""
    with pytest.raises(ConfigError, match="memory vault, which is for tests only"):
        open_vault("memory://")


def test_memory_vault_in_ship_config_is_refused_when_vaults_are_opened(tmp_path: Path) -> None:
    """ship.vault_url = "memory://..." never reaches a shipper: opening the vaults refuses it."""
    for cfg in (
        ShipConfig(vault_url="memory://primary"),
        ShipConfig(backup_vault_url="memory://backup"),
    ):
        with pytest.raises(ConfigError, match="for tests only"):
            open_vaults(tmp_path, cfg, FakeClock())


def test_memory_vault_opens_when_a_test_opts_in() -> None:
    """allow_memory=True (tests) yields a MemoryVault on the given clock."""
    clock = FakeClock()
    v = open_vault("memory://", allow_memory=True, clock=clock)
    assert isinstance(v, MemoryVault)
    assert v.clock is clock
