"""``sessiontape export`` onto a full disk (a real tmpfs): one line naming the bundle and "no
space left on device", and no half-written bundle, zip or temporary directory left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agent.config import Config
from agent.testing import FakeClock
from tests.cli.clirun import run_main
from tests.fsfull import SmallFs
from tests.journals import write_session


@pytest.mark.parametrize("name", ["case-7", "case-7.zip"])
def test_export_to_a_full_disk_fails_in_one_line_and_leaves_nothing(
    name: str,
    home: Path,
    cfg: Config,
    small_fs: Callable[[int], SmallFs],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The bundle is built aside; ENOSPC removes the partial build and names the target."""
    session = write_session(home, cfg, FakeClock(), chunks_per_segment=40).session_id
    fs = small_fs(16 * 1024)
    out = fs.path / name
    fs.fill(leave=16 * 1024)  # room for a start, not for the bundle
    rc, _, err = run_main(capsys, "--home", str(home), "export", session, "--out", str(out))
    errors = [line for line in err.splitlines() if line.startswith("sessiontape: error:")]
    assert rc == 2, err
    assert errors == [
        f"sessiontape: error: {out}: export bundle not written: no space left on device"
    ]
    assert sorted(p.name for p in fs.path.iterdir()) == [fs.ballast.name]
    fs.free()
    rc, _, err = run_main(capsys, "--home", str(home), "export", session, "--out", str(out))
    assert rc == 0 and out.exists(), err
