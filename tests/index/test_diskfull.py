"""The search index on a full disk (a real tmpfs): one line naming the index file, nothing
half written, and the next update after space returns indexes everything."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.config import load_config
from agent.index.cipher import index_key
from agent.keys import Keyring
from agent.testing import FakeClock
from tests.cli.clirun import run_main
from tests.fsfull import SmallFs
from tests.index.payloads import ticket_session


def test_index_update_on_a_full_disk_fails_naming_the_index_then_completes_once_freed(
    small_fs: Callable[[int], SmallFs], capsys: pytest.CaptureFixture[str]
) -> None:
    """``index update`` refused by ENOSPC: exit 2, one line; once freed, all segments index."""
    fs = small_fs(8 * 1024)
    home = fs.path / "home"
    Keyring.load_or_init(home)
    index_key(home)  # the agent's keys exist before the disk fills; the index file does not
    session = ticket_session(home, load_config(env={}, home=home), FakeClock())
    fs.fill()
    rc, out, err = run_main(capsys, "--home", str(home), "index", "update")
    errors = [line for line in err.splitlines() if line.startswith("sessiontape: error:")]
    assert rc == 2, err
    assert errors == [
        f"sessiontape: error: {home / 'index.db'}: search index not written: "
        "no space left on device"
    ]
    fs.free()
    rc, out, err = run_main(capsys, "--home", str(home), "index", "update")
    assert rc == 0 and "3 segments indexed" in out, err
    rc, out, _ = run_main(capsys, "--home", str(home), "search", '"Send (WS)" kind:click')
    assert rc == 0 and session in out
