"""The texts ``sessiontape install`` writes on Linux: two systemd units and an XDG autostart entry.

Every file starts with :data:`MARKER`, so ``uninstall`` removes only files ``install`` wrote.
The number after ``sessiontape-install`` is the format of these files.

Display. The agent launches the trader's browser, so it needs the desktop session's display:

- user unit: ``PassEnvironment=DISPLAY WAYLAND_DISPLAY XAUTHORITY`` takes them from the user
  manager, which desktops fill at login (``systemctl --user import-environment``); the unit is
  wanted by ``graphical-session.target``, so it starts once a graphical session is up;
- system unit: the agent runs as its own account and opens the browser on the X server at
  ``DISPLAY=:0`` with the cookie in ``<state dir>/.Xauthority`` (the trader's session grants
  that account its display). Wayland compositors grant no such access.

Hardening of the system unit (each line passes ``systemd-analyze verify``): ``ProtectSystem=
strict`` with the state directory the only writable path; ``ProtectHome=tmpfs`` (the agent
needs nothing of anyone's home, and read-only would still let it read them); ``PrivateTmp``
with the X11 socket directory bound back in; address families for S3 (IPv4/IPv6), the X11 and
D-Bus sockets (Unix) and the browser's network-change watch (netlink); ``UMask=0077``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from agent.errors import UsageError

MARKER = (
    "# sessiontape-install 1: written by `sessiontape install`; `sessiontape uninstall` removes it."
)
UNIT_NAME = "sessiontape-agent.service"
SYSTEM_ACCOUNT = "sessiontape"
SYSTEM_HOME = Path("/var/lib/sessiontape")
ENV_FILE = Path("/etc/sessiontape/agent.env")

_SHUTDOWN = """\
# SIGTERM stops the scheduler cleanly (running jobs finish; pending work stays in state.db).
KillSignal=SIGTERM
TimeoutStopSec=120
Restart=on-failure
RestartSec=10
"""


def _exec_line(exec_path: Path) -> str:
    # systemd splits ExecStart like a shell; quote a path with spaces.
    return f"ExecStart={shlex.quote(str(exec_path))} agent"


def user_unit(exec_path: Path, home: Path | None) -> str:
    """The systemd user unit: the agent in the desktop user's own session."""
    env = f"Environment=SESSIONTAPE_HOME={home}\n" if home is not None else ""
    return f"""{MARKER}
[Unit]
Description=sessiontape agent (desktop session)
PartOf=graphical-session.target
After=graphical-session.target

[Service]
Type=simple
PassEnvironment=DISPLAY WAYLAND_DISPLAY XAUTHORITY
{env}{_exec_line(exec_path)}
{_SHUTDOWN}NoNewPrivileges=yes
UMask=0077

[Install]
WantedBy=graphical-session.target
"""


def system_unit(exec_path: Path, home: Path = SYSTEM_HOME) -> str:
    """The systemd system unit: the agent as the dedicated ``sessiontape`` account."""
    state = ""
    if home.parent == Path("/var/lib"):  # systemd creates it 0700, owned by the account
        state = f"StateDirectory={home.name}\nStateDirectoryMode=0700\n"
    return f"""{MARKER}
# Vault URL and S3 credentials: {ENV_FILE} (mode 0600), e.g. SESSIONTAPE_VAULT_URL=s3://bucket/desk1,
# or an instance role. Never put credentials in sessiontape.toml.
[Unit]
Description=sessiontape agent (workstation service)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={SYSTEM_ACCOUNT}
Group={SYSTEM_ACCOUNT}
{state}Environment=SESSIONTAPE_HOME={home}
Environment=DISPLAY=:0
Environment=XAUTHORITY={home}/.Xauthority
EnvironmentFile=-{ENV_FILE}
{_exec_line(exec_path)}
{_SHUTDOWN}NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={home}
ProtectHome=tmpfs
PrivateTmp=yes
BindPaths=-/tmp/.X11-unix
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
UMask=0077

[Install]
WantedBy=multi-user.target
"""


def autostart_script(exec_path: Path) -> str:
    """The shell line the autostart entry runs.

    When the user unit is enabled or active, systemd owns the agent: the entry hands the
    display to the user manager and asks it to start the unit (a no-op when it runs already,
    so the agent never starts twice). Otherwise (no systemd user session, or the unit not
    enabled) it runs the agent itself.
    """
    unit = UNIT_NAME
    return (
        f"if systemctl --user --quiet is-enabled {unit} 2>/dev/null"
        f" || systemctl --user --quiet is-active {unit} 2>/dev/null; then"
        " systemctl --user import-environment DISPLAY WAYLAND_DISPLAY XAUTHORITY 2>/dev/null;"
        f" exec systemctl --user start {unit};"
        f" else exec {shlex.quote(str(exec_path))} agent; fi"
    )


def autostart_entry(exec_path: Path) -> str:
    """The XDG autostart entry for desktops that start programs at login."""
    script = autostart_script(exec_path)
    for ch in '"`$\\':  # the desktop-entry Exec grammar reserves these inside quotes
        if ch in script:
            raise UsageError(
                f"the sessiontape path cannot go in a desktop entry ({ch!r}): {exec_path}"
            )
    return f"""{MARKER}
[Desktop Entry]
Type=Application
Name=sessiontape agent
Comment=Records this workstation's browser sessions for compliance
Exec=sh -c "{script}"
Terminal=false
NoDisplay=true
X-GNOME-Autostart-enabled=true
"""
