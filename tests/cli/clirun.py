"""Run the real ``sessiontape`` CLI in a subprocess (true exit codes, stderr, no tracebacks)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
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
