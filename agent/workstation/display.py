"""Is there a display a visible browser can draw on? Checked by connecting to it.

``$DISPLAY`` names an X server: ``:N`` (or ``unix:N``) is the local socket
``/tmp/.X11-unix/XN`` (or Linux's abstract socket of the same name), ``host:N`` is TCP port
6000+N. ``$WAYLAND_DISPLAY`` names a socket in ``$XDG_RUNTIME_DIR``. A variable that names a
server nobody answers at is as good as no display: a headful browser would fail later with
a less clear reason.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path

from agent.errors import UsageError

_X_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<num>\d+)(\.\d+)?$")
_CONNECT_TIMEOUT_S = 2.0


def _connects(family: int, address: str | bytes | tuple[str, int]) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(_CONNECT_TIMEOUT_S)
        try:
            s.connect(address)
        except OSError:
            return False
    return True


def x_display_problem(display: str) -> str | None:
    """Why the X server ``display`` cannot be reached (None when it answers)."""
    m = _X_DISPLAY.match(display)
    if m is None:
        return f"DISPLAY={display!r} is not an X display name"
    host, num = m.group("host"), int(m.group("num"))
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{num}"
        if _connects(socket.AF_UNIX, path) or _connects(socket.AF_UNIX, b"\0" + path.encode()):
            return None
        return f"no X server answers on DISPLAY={display} ({path})"
    if _connects(socket.AF_INET, (host, 6000 + num)):
        return None
    return f"no X server answers on DISPLAY={display} ({host}:{6000 + num})"


def wayland_problem(name: str, env: Mapping[str, str]) -> str | None:
    """Why the Wayland compositor ``name`` cannot be reached (None when it answers)."""
    path = Path(name) if name.startswith("/") else Path(env.get("XDG_RUNTIME_DIR", "")) / name
    if _connects(socket.AF_UNIX, str(path)):
        return None
    return f"no Wayland compositor answers on WAYLAND_DISPLAY={name} ({path})"


def display_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why a visible browser cannot be shown (None when a display answers)."""
    env = os.environ if env is None else env
    display, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if not display and not wayland:
        return "no display: neither DISPLAY nor WAYLAND_DISPLAY is set"
    problems = []
    if display:
        problems.append(x_display_problem(display))
    if wayland:
        problems.append(wayland_problem(wayland, env))
    if None in problems:
        return None
    return "; ".join(p for p in problems if p)


def require_display(command: str, env: Mapping[str, str] | None = None) -> None:
    """Refuse (a :class:`UsageError`, exit 2) a visible browser without a usable display."""
    problem = display_problem(env)
    if problem is not None:
        raise UsageError(
            f"{command} shows the browser on the desktop, but {problem} "
            "(run it in the user's desktop session, or pass --headless)"
        )
