"""Linux: a systemd unit (user or system) and, for ``--user``, an XDG autostart entry.

``install`` writes files and prints the commands to enable them; it runs ``systemctl`` only
when asked (``enable``). A file that exists with other content is refused unless ``force``;
``uninstall`` removes a file only when it carries the marker ``install`` writes, and never
the state directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from agent.errors import UsageError
from agent.platform import linux_files as files
from agent.platform.base import InstallOptions, Outcome, PlannedFile, Scope

AUTOSTART_NAME = "sessiontape-agent.desktop"


def _config_home() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"


def targets(scope: Scope, root: Path = Path("/")) -> list[Path]:
    """Where ``install`` writes for ``scope`` (system paths under ``root``)."""
    if scope is Scope.USER:
        conf = _config_home()
        return [conf / "systemd" / "user" / files.UNIT_NAME, conf / "autostart" / AUTOSTART_NAME]
    return [root / "etc" / "systemd" / "system" / files.UNIT_NAME]


def plan(options: InstallOptions) -> list[PlannedFile]:
    """The files an install of ``options`` writes, with their text."""
    paths = targets(options.scope, options.root)
    if options.scope is Scope.USER:
        texts = [
            files.user_unit(options.exec_path, options.home),
            files.autostart_entry(options.exec_path),
        ]
    else:
        texts = [files.system_unit(options.exec_path, options.home or files.SYSTEM_HOME)]
    return [PlannedFile(p, t) for p, t in zip(paths, texts, strict=True)]


def _systemctl(scope: Scope, *args: str) -> str:
    """Run ``systemctl [--user] ARGS``; one line saying what ran and how it ended."""
    exe = shutil.which("systemctl")
    cmd = ["systemctl", *(["--user"] if scope is Scope.USER else []), *args]
    if exe is None:
        return f"{' '.join(cmd)}: systemctl not found"
    p = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=120)
    said = (p.stderr or p.stdout).strip().replace("\n", " ")
    result = "ok" if p.returncode == 0 else f"failed (exit {p.returncode})"
    return f"{' '.join(cmd)}: {result}{': ' + said if said else ''}"


def _account_exists(root: Path, name: str) -> bool:
    if root == Path("/"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            return False
        return True
    passwd = root / "etc" / "passwd"
    lines = passwd.read_text(encoding="utf-8").splitlines() if passwd.exists() else []
    return any(line.split(":", 1)[0] == name for line in lines)


def _create_account(root: Path, home: Path) -> str:
    cmd = ["useradd", "--system", "--home-dir", str(home), "--no-create-home"]
    cmd += ["--shell", "/usr/sbin/nologin", files.SYSTEM_ACCOUNT]
    if root != Path("/"):
        cmd[1:1] = ["--root", str(root)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise UsageError(f"{' '.join(cmd)} failed (exit {p.returncode}): {p.stderr.strip()}")
    return f"created the system account {files.SYSTEM_ACCOUNT}: {' '.join(cmd)}"


def _check_system(options: InstallOptions, out: Outcome) -> None:
    """Root for the real system; the dedicated account exists (or is created on request)."""
    if options.root == Path("/") and os.geteuid() != 0 and not options.dry_run:
        raise UsageError(
            f"install --system writes {targets(Scope.SYSTEM)[0]} and needs root "
            f"(running as uid {os.geteuid()}): use sudo, or install --user"
        )
    if _account_exists(options.root, files.SYSTEM_ACCOUNT) or options.dry_run:
        return
    if not options.create_account:
        raise UsageError(
            f"the system account {files.SYSTEM_ACCOUNT!r} does not exist: create it with "
            f"`useradd --system --home-dir {files.SYSTEM_HOME} --no-create-home --shell "
            f"/usr/sbin/nologin {files.SYSTEM_ACCOUNT}`, or pass --create-account"
        )
    out.done.append(_create_account(options.root, options.home or files.SYSTEM_HOME))


def _refuse_different(planned: list[PlannedFile], force: bool) -> None:
    for f in planned:
        if force or not f.path.exists():
            continue
        if f.path.read_text(encoding="utf-8", errors="replace") != f.text:
            raise UsageError(f"{f.path} exists with other content; pass --force to replace it")


def _write(f: PlannedFile) -> str:
    if f.path.exists() and f.path.read_text(encoding="utf-8", errors="replace") == f.text:
        return f"unchanged {f.path}"
    f.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    tmp = f.path.with_name(f.path.name + ".tmp")
    tmp.write_text(f.text, encoding="utf-8")
    tmp.chmod(0o644)  # systemd and the desktop read these as the user or root: not secret
    tmp.replace(f.path)
    return f"wrote {f.path}"


def _next_steps(scope: Scope) -> list[str]:
    ctl = "systemctl --user" if scope is Scope.USER else "systemctl"
    steps = [f"{ctl} daemon-reload && {ctl} enable --now {files.UNIT_NAME}"]
    if scope is Scope.SYSTEM:
        steps.append(f"put SESSIONTAPE_VAULT_URL (and S3 credentials if any) in {files.ENV_FILE}")
    else:
        steps.append(
            "without a systemd user session, the autostart entry starts the agent at login"
        )
    return steps


class Linux:
    """systemd units and the XDG autostart entry."""

    def describe(self) -> str:
        """One line: what ``install`` sets up here."""
        return (
            "Linux: a systemd unit (--user: the desktop session, plus an XDG autostart entry; "
            "--system: the dedicated sessiontape account)"
        )

    def install(self, options: InstallOptions) -> Outcome:
        """Write the unit (and autostart entry); enable it only when ``options.enable``."""
        if options.enable and options.root != Path("/"):
            raise UsageError("--enable needs the running system, not a staged --root")
        out = Outcome()
        planned = plan(options)
        if options.scope is Scope.SYSTEM:
            _check_system(options, out)
        _refuse_different(planned, options.force)
        if options.dry_run:
            for f in planned:
                out.done.append(f"would write {f.path}:\n{f.text}")
            return out
        out.done.extend(_write(f) for f in planned)
        if options.enable:
            out.done.append(_systemctl(options.scope, "daemon-reload"))
            out.done.append(_systemctl(options.scope, "enable", "--now", files.UNIT_NAME))
        else:
            out.next_steps.extend(_next_steps(options.scope))
        return out

    def uninstall(self, scope: Scope, root: Path = Path("/")) -> Outcome:
        """Disable and stop the unit (when systemctl is there), then remove the marked files."""
        out = Outcome()
        paths = targets(scope, root)
        if scope is Scope.SYSTEM and root == Path("/") and os.geteuid() != 0:
            raise UsageError(f"uninstall --system removes {paths[0]} and needs root")
        ours = [p for p in paths if p.exists() and _is_ours(p)]
        foreign = [p for p in paths if p.exists() and p not in ours]
        if root == Path("/") and shutil.which("systemctl") and paths[0] in ours:
            out.done.append(_systemctl(scope, "disable", "--now", files.UNIT_NAME))
        for p in ours:
            p.unlink()
            out.done.append(f"removed {p}")
        out.done.extend(f"kept {p}: not written by sessiontape install" for p in foreign)
        if not ours and not foreign:
            out.done.append("nothing to remove: no files from sessiontape install")
        if root == Path("/") and shutil.which("systemctl") and paths[0] in ours:
            out.done.append(_systemctl(scope, "daemon-reload"))
        out.next_steps.append(
            "the state directory (journals, keys, index) is kept; remove it yourself once its "
            "records are shipped and past retention"
        )
        return out


def _is_ours(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as fh:
        return fh.readline().startswith(files.MARKER.split(":", 1)[0] + ":")
