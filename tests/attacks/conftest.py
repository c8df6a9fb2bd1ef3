"""Fixtures shared by the attack tests: the real demo recording of the replay tests."""

from tests.replay.conftest import recorded

__all__ = ["recorded"]
