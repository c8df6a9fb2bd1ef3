"""The agent's own log on a full disk: lines fall back to stderr, nothing raises, and the
file is used again once space returns."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import structlog

from agent.logs import configure
from tests.fsfull import SmallFs


def test_logging_on_a_full_disk_goes_to_stderr_then_back_to_the_file(
    small_fs: Callable[[int], SmallFs], capsys: pytest.CaptureFixture[str]
) -> None:
    """No log call raises ENOSPC; the refused line reaches stderr, later lines the file."""
    fs = small_fs(256)
    configure(fs.path, "info")
    log = structlog.get_logger("test")
    log.info("before.full", n=1)
    fs.fill()
    log.error("while.full", n=2, pad="x" * 8000)  # more than any page left free
    fs.free()
    log.info("after.free", n=3)
    err = capsys.readouterr().err
    assert "cannot write log file" in err and "no space left on device" in err
    assert '"event": "while.full"' in err
    lines = (fs.path / "logs" / "agent.log").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["before.full", "after.free"]
