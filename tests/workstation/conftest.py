"""Fixtures of the workstation tests: a private X display per module, a login site per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.workstation.desktop import LoginSite, xvfb


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private Xvfb display (its own number, picked by Xvfb) for the module's tests."""
    with xvfb() as name:
        yield name


@pytest.fixture
def site() -> Iterator[LoginSite]:
    """127.0.0.1 pages whose ``/login`` sets the trader's session cookie."""
    s = LoginSite()
    yield s
    s.close()
