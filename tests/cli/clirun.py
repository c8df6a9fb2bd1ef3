"""Run the real ``sessiontape`` CLI: in a subprocess (:func:`run`: true exit codes, stderr, no
tracebacks) or in this process (:func:`run_main`: faster, output through pytest's capsys)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.cli.main import main
from agent.cli.state import STATE

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    """Exit code, stdout and stderr of one CLI run."""

    code: int
    out: str
    err: str


def run(
    *args: str, home: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> Result:
    """``sessiontape [--home HOME] ARGS`` with a clean SESSIONTAPE_* environment."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    e.update(env or {})
    e["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "agent.cli.main"]
    if home is not None:
        cmd += ["--home", str(home)]
    p = subprocess.run(
        cmd + list(args), capture_output=True, text=True, env=e, cwd=ROOT, timeout=timeout
    )
    assert "Traceback" not in p.stderr, p.stderr
    return Result(p.returncode, p.stdout, p.stderr)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``sessiontape ARGV`` through the real entry point in this process, as a fresh process
    would run it (no global options or config left from an earlier run); returns (exit code,
    stdout, stderr) of this run only."""
    STATE.reset()
    capsys.readouterr()  # drop what earlier steps (journal writing) printed
    umask = os.umask(0o022)  # main() sets the agent's umask: give the test process its own back
    os.umask(umask)
    try:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
    finally:
        os.umask(umask)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err
