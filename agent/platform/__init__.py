"""OS specifics: installing the agent as a service that starts with the machine or the session.

Only this package knows how an operating system starts a long-running program. The CLI asks
:func:`current` for the platform of this machine and calls its
:class:`~agent.platform.base.Platform` interface; a platform without an implementation is
refused with a clear :class:`~agent.errors.UsageError`, never a silent fallback.

Linux (systemd units and an XDG autostart entry) is implemented and tested. Windows (a service
plus a per-session launcher) and macOS (launchd agents and daemons) are not implemented yet.
"""

from __future__ import annotations

import sys

from agent.errors import UsageError
from agent.platform.base import Platform

_PLANNED = {
    "win32": "a Windows service plus a per-session launcher is planned",
    "darwin": "launchd daemons and agents are planned",
}


def current(platform: str | None = None) -> Platform:
    """The :class:`Platform` of ``platform`` (default ``sys.platform``)."""
    name = sys.platform if platform is None else platform
    if name.startswith("linux"):
        from agent.platform.linux import Linux

        return Linux()
    plan = _PLANNED.get(name, "only Linux with systemd or an XDG desktop is implemented")
    raise UsageError(f"install on {name} is not supported yet: {plan}")
