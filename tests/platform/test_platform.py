"""The platform is chosen by name; one without an implementation is refused, never guessed."""

from __future__ import annotations

import pytest

from agent.errors import UsageError
from agent.platform import current


def test_linux_gets_the_systemd_platform() -> None:
    """`linux` maps to the Linux implementation."""
    assert current("linux").describe().startswith("Linux: a systemd unit")


@pytest.mark.parametrize(
    ("name", "plan"), [("win32", "Windows service"), ("darwin", "launchd"), ("freebsd14", "Linux")]
)
def test_other_platforms_are_refused_with_what_is_planned(name: str, plan: str) -> None:
    """Windows, macOS and the rest raise a UsageError naming the platform."""
    with pytest.raises(UsageError, match=rf"install on {name} is not supported yet: .*{plan}"):
        current(name)
