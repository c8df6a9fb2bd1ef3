"""``sessiontape demo``'s local TSA: its root is remembered in the home when it starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.cli import demo
from agent.cli.state import STATE
from agent.seal.tsa_local import LocalTSA
from agent.seal.tsa_roots import remembered_dir, tsa_root_paths


def test_starting_the_demo_tsa_remembers_its_root_in_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording itself is replaced (it needs Chromium); the TSA start is the real one."""
    seen: list[LocalTSA] = []

    async def record_demo(*_: Any, tsa: LocalTSA, **__: Any) -> str:
        seen.append(tsa)
        return tsa.url

    monkeypatch.setattr("agent.pipeline.record_demo", record_demo)
    STATE.reset()
    STATE.home_opt = tmp_path / "home"
    try:
        url = demo._record(headless=True, fast=True, tsa=True)
    finally:
        STATE.reset()
    (tsa,) = seen
    assert url.startswith("http://127.0.0.1:")
    remembered = remembered_dir(tmp_path / "home") / f"{demo.DEMO_TSA_ROOT}.pem"
    assert remembered.read_bytes() == tsa.root_pem
    assert tsa_root_paths(tmp_path / "home", []) == [remembered]
    assert remembered.parent.stat().st_mode & 0o077 == 0
