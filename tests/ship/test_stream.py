"""Checkpoints stream to the configured vault while a recording runs (agent.ship.stream)."""

from __future__ import annotations

from pathlib import Path

from agent.clock import SystemClock
from agent.config import load_config
from agent.keys import Keyring
from agent.pipeline import Recording
from agent.ship.config import ShipConfig
from agent.ship.filevault import FileVault
from agent.ship.stream import CheckpointStream, start_stream
from agent.testing import make_event
from tests.journals import open_journal
from tests.waiting import wait_until


def _wait_for(vault: FileVault, key: str) -> None:
    wait_until(lambda: vault.list(key), what=f"{key} in the vault")


def test_checkpoints_of_a_live_session_reach_the_vault_while_it_runs(tmp_path: Path) -> None:
    """Every interval the new checkpoints of the open segment are in the vault; stop says
    which checkpoint is the newest there (the loss window)."""
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    vault_dir = tmp_path / "vault"
    cfg = ShipConfig(vault_url=f"file://{vault_dir}", checkpoint_interval_seconds=1)
    stream = start_stream(home, cfg, SystemClock())
    assert isinstance(stream, CheckpointStream)
    j = open_journal(home)
    seg_id = j.segments[0].stem.split("-", 1)[1]
    vault = FileVault(vault_dir)
    for i in range(3):
        j.append_many([make_event()])
        j.checkpoint_now()
        _wait_for(vault, f"checkpoints/{j.session_id}/{seg_id}/{i}.json")
    j.abandon()
    report = stream.stop(j.session_id)
    assert report["url"] == f"file://{vault_dir}"
    assert report["newest_checkpoint_by_segment"] == {seg_id: 2}


def test_the_default_in_home_vault_is_streamed_to_and_off_means_off(tmp_path: Path) -> None:
    """With no vault configured the in-home file vault gets the checkpoints; streaming
    turned off starts nothing."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    stream = start_stream(home, ShipConfig(), SystemClock())
    assert isinstance(stream, CheckpointStream)
    assert stream.url == f"file://{home.resolve() / 'vault'}"
    stream.stop("no-session")
    off = ShipConfig(vault_url=f"file://{tmp_path / 'v'}", stream_checkpoints=False)
    assert start_stream(home, off, SystemClock()) is None


def test_a_recording_with_a_vault_reports_its_newest_vault_checkpoint(tmp_path: Path) -> None:
    """The record path streams by default when ship.vault_url is set: the closed recording's
    result names the vault and the newest checkpoint it holds per segment."""
    home = tmp_path / "home"
    url = f"file://{tmp_path / 'vault'}"
    cfg = load_config(env={"SESSIONTAPE_VAULT_URL": url}, home=home)
    rec = Recording(home, cfg)
    assert rec.stream is not None
    rec.journal.append_many([make_event()])
    result = rec.close()
    vault = result.extra["vault"]
    assert vault["url"] == url
    (seg,) = result.segments
    newest = vault["newest_checkpoint_by_segment"][Path(seg).stem.split("-", 1)[1]]
    assert (
        FileVault(tmp_path / "vault")
        .list(f"checkpoints/{result.session_id}/")[-1]
        .endswith(f"/{newest}.json")
    )
