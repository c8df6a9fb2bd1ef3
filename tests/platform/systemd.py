"""Checks of the files ``sessiontape install`` writes, with the tools the OS itself uses:
``systemd-analyze verify`` for units and ``desktop-file-validate`` for the autostart entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SESSIONTAPE = Path(sys.executable).parent / "sessiontape"
"""The real console script: ``verify`` insists that a unit's ExecStart exists."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is missing: run .ci/setup.sh"
    return path


def verify_unit(unit: Path, *, user: bool, runtime_dir: Path) -> str:
    """``systemd-analyze [--user] verify UNIT``: its complaints (empty when the unit is clean).

    verify exits 0 on an unknown key or a bad value (it only warns), so its output counts."""
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)}  # the user manager needs one
    cmd = [_tool("systemd-analyze"), *(["--user"] if user else []), "verify", str(unit)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    return (p.stdout + p.stderr).strip() + (f" (exit {p.returncode})" if p.returncode else "")


def validate_desktop_entry(entry: Path) -> str:
    """``desktop-file-validate ENTRY``: its complaints (empty when the entry is clean)."""
    p = subprocess.run(
        [_tool("desktop-file-validate"), str(entry)], capture_output=True, text=True, timeout=60
    )
    return (p.stdout + p.stderr).strip() + (f" (exit {p.returncode})" if p.returncode else "")


def fake_systemctl(bindir: Path, log: Path, rc: int = 0) -> None:
    """A ``systemctl`` on PATH that appends its arguments to ``log`` and exits ``rc``: the
    real one would act on this machine's service manager."""
    bindir.mkdir(exist_ok=True)
    exe = bindir / "systemctl"
    exe.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit {rc}\n', encoding="utf-8")
    exe.chmod(0o755)
