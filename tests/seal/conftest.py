"""Fixtures of the seal tests: one pristine sealed session, copied for each test to tamper with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.config import load_config
from agent.keys import Keyring
from agent.seal.verify import VerifyReport, verify_paths
from agent.testing import FakeClock
from tests.journals import write_session


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed 3-segment session; each segment ends with a checkpoint at its full size
    (built once per module; each test tampers with a copy)."""
    home = tmp_path_factory.mktemp("pristine") / "home"
    Keyring.load_or_init(home)
    write_session(home, load_config(env={}), FakeClock(), segments=3, chunks_per_segment=6)
    return home


@pytest.fixture
def victim(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the pristine home for one test to tamper with."""
    home = tmp_path / "home"
    shutil.copytree(pristine, home)
    return home


def segments(home: Path) -> list[Path]:
    """The home's segment files in order."""
    return sorted((home / "journals").rglob("*.stj"))


def verify_home(home: Path, *, decrypt: bool = False) -> VerifyReport:
    """Verify every journal of ``home`` with its own trust store (and keys, to decrypt)."""
    kr = Keyring.load(home)
    return verify_paths([home / "journals"], kr.trust(), keyring=kr, decrypt=decrypt)
