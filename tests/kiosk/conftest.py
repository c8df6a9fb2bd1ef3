"""Fixtures of the kiosk tests: a private X display for the headful ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.workstation.desktop import xvfb


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private Xvfb display (its own number, picked by Xvfb), as ``DISPLAY``."""
    with xvfb() as name:
        monkeypatch.setenv("DISPLAY", name)
        yield name
