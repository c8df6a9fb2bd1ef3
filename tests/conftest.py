"""Shared fixtures: a temp state dir with keys, a loaded config, a fake clock, the local TSA."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli.state import STATE
from agent.config import Config, load_config
from agent.keys import Keyring
from agent.logs import configure_quiet
from agent.testing import FakeClock

pytest_plugins = ["tests.conftest_tsa", "tests.fsfull", "tests.pg"]

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
    """A fake clock at its fixed default start time."""
    return FakeClock()


@pytest.fixture
def keyring(home: Path) -> Keyring:
    """The keyring of :func:`home`."""
    return Keyring.load(home)


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Tests never read the developer's real state dir or config, nor an earlier test's CLI
    options (the in-process CLI keeps --home/--config in a module-level state) or log target
    (a command run in-process points the logs at its own home)."""
    STATE.reset()
    monkeypatch.setenv("SESSIONTAPE_HOME", str(tmp_path / "env-home"))
    for var in list(os.environ):
        if var.startswith("SESSIONTAPE_") and var not in (
            "SESSIONTAPE_HOME",
            "SESSIONTAPE_S3_TEST_URL",
        ):
            monkeypatch.delenv(var)
    yield
    STATE.reset()
    configure_quiet()
