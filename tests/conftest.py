"""Shared fixtures: a temp state dir with keys, a loaded config, a fake clock, the local TSA."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest_tsa import local_tsa  # noqa: E402,F401

from agent.config import Config, load_config  # noqa: E402
from agent.keys import Keyring  # noqa: E402
from agent.logs import configure_quiet  # noqa: E402
from agent.testing import FakeClock  # noqa: E402

configure_quiet()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh state directory with an initialised keyring."""
    h = tmp_path / "home"
    Keyring.load_or_init(h)
    return h


@pytest.fixture
def cfg() -> Config:
    """The embedded defaults (environment ignored)."""
    return load_config(env={})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keyring(home: Path) -> Keyring:
    return Keyring.load(home)


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Tests never read the developer's real state dir or config, nor an earlier test's CLI
    options (the in-process CLI keeps --home/--config in a module-level state)."""
    from agent.cli.state import STATE

    STATE.home_opt = STATE.config_opt = STATE._config = None
    monkeypatch.setenv("SESSIONTAPE_HOME", str(tmp_path / "env-home"))
    for var in list(__import__("os").environ):
        if var.startswith("SESSIONTAPE_") and var not in (
            "SESSIONTAPE_HOME",
            "SESSIONTAPE_S3_TEST_URL",
        ):
            monkeypatch.delenv(var)
    yield
