"""A real state dir for the attack tests: sealed sessions by one agent, shipped to a vault.

:func:`recorded_home` writes ``sessions`` closed sessions (two segments each) with one fake
clock moving forward; :func:`ship_all` ships every sealed segment and every checkpoint to a
real file vault (or the vault given), and :func:`shipped_home` does both;
:func:`streamed_open_session` adds a live session whose checkpoints reached the vault;
:func:`verify` runs ``sessiontape verify`` in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.journal.journal import Journal
from agent.keys import Keyring
from agent.ship.checkpoints import ship_checkpoints
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.shipper import Shipper
from agent.ship.source import JournalSource
from agent.ship.vault import Vault
from agent.testing import FakeClock
from tests.cli.clirun import run_main
from tests.journals import write_session


def recorded_home(tmp_path: Path, clock: FakeClock, sessions: int = 3) -> Path:
    """A home with ``sessions`` closed sessions of two segments, oldest first."""
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    for _ in range(sessions):
        write_session(home, cfg, clock, segments=2, chunks_per_segment=2)
        clock.advance_s(60)
    return home


def session_dirs(home: Path) -> list[Path]:
    """Session directories, oldest first (ids start with their UTC start time)."""
    return sorted(p for p in (home / "journals").iterdir() if p.is_dir())


def file_vault(home: Path, clock: FakeClock) -> FileVault:
    """The real file vault beside the home."""
    return FileVault(home.parent / "vault", clock=clock)


def ship_all(home: Path, clock: FakeClock, vault: Vault, *, keep_local_days: int = 30) -> Shipper:
    """Ship every sealed segment and checkpoint, then apply local retention."""
    sh = Shipper(
        home,
        ShipConfig(keep_local_days=keep_local_days),
        {"primary": vault},
        JournalSource(home),
        clock=clock,
    )
    result = sh.ship_once()
    assert not result.quarantined and not result.failed and result.paused is None, result
    ship_checkpoints(sh)
    sh.apply_local_retention()
    return sh


def shipped_home(tmp_path: Path, clock: FakeClock, sessions: int = 3) -> tuple[Path, FileVault]:
    """A :func:`recorded_home` whose every segment and checkpoint is in its file vault."""
    home = recorded_home(tmp_path, clock, sessions)
    vault = file_vault(home, clock)
    ship_all(home, clock, vault)
    return home, vault


def streamed_open_session(home: Path, clock: FakeClock, vault: Vault, chunks: int) -> Journal:
    """A session left open (the agent stopped without sealing it) whose ``chunks`` checkpoints,
    one a chunk, reached ``vault`` while it was live; every sealed segment is shipped too."""
    j = write_session(home, chunks_per_segment=chunks, checkpoint_every_chunk=True, close=False)
    ship_all(home, clock, vault)
    j.abandon()
    return j


def remove_session(sdir: Path) -> list[str]:
    """What an attacker does: delete a session directory; returns the names of the segments
    it held, sorted."""
    names = sorted(p.name for p in sdir.glob("*.stj"))
    for f in sdir.iterdir():
        f.unlink()
    sdir.rmdir()
    return names


def verify(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    """``sessiontape --home HOME verify ARGS`` in this process."""
    return run_main(capsys, "--home", str(home), "verify", *args)
