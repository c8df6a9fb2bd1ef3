"""Launch Chromium ourselves, talking CDP over ``--remote-debugging-pipe`` (no TCP port).

The browser is spawned with ``os.posix_spawn`` in a process group of its own; the parent's
pipe ends are dup'ed onto the child's fds 3 (commands in) and 4 (answers and events out), so
only this agent holds the other ends. The browser's log, the agent's and the browser's pids,
and (unless a persistent :class:`~agent.capture.profile.ProfileDirs` is given) the profile
and downloads live in a private temporary directory (mode 0700), swept at the next launch if
the agent died without closing it: the sweep also kills a browser that outlived its agent
(nobody records it any more), and never touches a persistent profile.
:meth:`LaunchedBrowser.close` asks the browser to close, then kills the
whole process group and reaps the browser process (its exit is watched with a pidfd, no
thread), so no browser or renderer outlives the session and nothing is left a zombie.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from agent.capture.cdp import CDPConnection
from agent.capture.config import CaptureConfig, find_executable
from agent.capture.pipe import connect_pipes
from agent.capture.profile import ProfileDirs, is_browser_of, pid_alive, release_stale_lock
from agent.errors import CaptureError

log = structlog.get_logger(__name__)

# What Playwright passes to Chromium that matters for a recorded browser: no first-run UI,
# no background traffic of the browser's own, no throttling of background tabs (their
# recorders must keep their heartbeat), popups allowed as before.
BASE_ARGS = (
    "--remote-debugging-pipe",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-startup-window",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--disable-component-extensions-with-background-pages",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-sync",
    "--disable-quic",
    "--disable-hang-monitor",
    "--disable-ipc-flooding-protection",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--disable-search-engine-choice-screen",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--force-color-profile=srgb",
    "--hide-crash-restore-bubble",  # a relaunch after a crash is recorded; no restore prompt
)
HEADLESS_ARGS = (
    "--headless=new",
    "--hide-scrollbars",
    "--mute-audio",
    "--blink-settings=primaryHoverType=2,availableHoverTypes=2,"
    "primaryPointerType=4,availablePointerTypes=4",
)
_CLOSE_GRACE_S = 3.0


def browser_args(
    cfg: CaptureConfig, *, headless: bool, user_data_dir: Path, as_root: bool
) -> list[str]:
    """The command line after the executable (never a debugging port)."""
    args = [*BASE_ARGS, f"--user-data-dir={user_data_dir}"]
    args.append(f"--window-size={cfg.viewport_width},{cfg.viewport_height}")
    if headless:
        args.extend(HEADLESS_ARGS)
    if as_root or cfg.no_sandbox:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    for extra in cfg.extra_args:
        if extra.startswith(("--remote-debugging-port", "--remote-debugging-address")):
            raise CaptureError(f"capture.extra_args: {extra.split('=')[0]} is not allowed")
        args.append(extra)
    return args


def child_env(headless: bool, env: dict[str, str] | None = None) -> dict[str, str]:
    """The browser's environment; headful needs a display and says so when there is none."""
    out = dict(os.environ if env is None else env)
    if not headless and not (out.get("DISPLAY") or out.get("WAYLAND_DISPLAY")):
        raise CaptureError(
            "headful capture needs a display: neither DISPLAY nor WAYLAND_DISPLAY is set "
            "(set capture.headless = true or run under a display)"
        )
    return out


@dataclass
class LaunchedBrowser:
    """A running Chromium: its process (group leader), our CDP link, its private dirs."""

    pid: int
    conn: CDPConnection
    downloads_dir: Path
    headless: bool
    tmp_dir: Path
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    returncode: int | None = None
    _pidfd: int | None = field(default=None, repr=False)

    def watch_exit(self) -> None:
        """Reap the browser as soon as it exits (pidfd readable), without a thread."""
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except OSError:
            self._pidfd = None
            self._reap()
            return
        asyncio.get_running_loop().add_reader(self._pidfd, self._reap)

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, 0
        if pid == 0:
            return
        self.returncode = os.waitstatus_to_exitcode(status)
        self._forget_pidfd()
        self.exited.set()

    def _forget_pidfd(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None

    def kill_group(self) -> None:
        """SIGKILL every process of the browser's group (renderers, GPU, zygotes)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Close the browser; safe to call twice or after the browser died."""
        if not self.exited.is_set() and not self.conn.closed.is_set():
            with contextlib.suppress(Exception):
                await self.conn.send("Browser.close", timeout=2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.exited.wait(), _CLOSE_GRACE_S)
        self.kill_group()
        if not self.exited.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), _CLOSE_GRACE_S)
        if not self.exited.is_set():  # no pidfd: reap by hand
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.exited.set()
        self._forget_pidfd()
        await self.conn.close()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)


def _spawn(
    executable: str, args: list[str], env: dict[str, str], tmp: Path
) -> tuple[int, int, int]:
    """Start the browser with our pipes on its fds 3/4; (pid, events fd, commands fd)."""
    cmd_r, cmd_w = os.pipe()  # we write commands, the browser reads them on fd 3
    ev_r, ev_w = os.pipe()  # the browser writes on fd 4, we read
    log_fd = os.open(tmp / "browser.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_DUP2, log_fd, 1),
        (os.POSIX_SPAWN_DUP2, log_fd, 2),
        (os.POSIX_SPAWN_DUP2, cmd_r, 3),
        (os.POSIX_SPAWN_DUP2, ev_w, 4),
    ]
    try:
        pid = os.posix_spawn(
            executable, [executable, *args], env, file_actions=actions, setpgroup=0
        )
    except OSError as exc:
        for fd in (cmd_r, cmd_w, ev_r, ev_w):
            os.close(fd)
        raise CaptureError(f"cannot start {executable}: {exc.strerror}") from exc
    finally:
        os.close(log_fd)
    os.close(cmd_r)
    os.close(ev_w)
    return pid, ev_r, cmd_w


_TMP_PREFIX = "sessiontape-browser-"


def sweep_stale_dirs(parent: Path | None = None) -> list[Path]:
    """Remove the private directories (profile with cookies, downloads) left behind by agents
    that died without closing their browser, after killing that browser if it still runs;
    the directories removed."""
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    removed = []
    for d in parent.glob(_TMP_PREFIX + "*"):
        try:
            if d.stat().st_uid != os.geteuid():
                continue
            owner = int((d / "agent.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
            continue  # its agent still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        _kill_orphan(d)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


def _kill_orphan(tmp: Path) -> None:
    """SIGKILL the process group of the browser recorded in ``tmp`` if it still runs on the
    profile it was started with, and wait (briefly) until it is gone."""
    try:
        pid = int((tmp / "browser.pid").read_text())
        profile = Path((tmp / "profile.path").read_text())
    except (OSError, ValueError):
        return
    if not (pid_alive(pid) and is_browser_of(pid, profile)):
        return
    log.warning("capture.orphan_browser_killed", pid=pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for _ in range(100):
        if not pid_alive(pid):
            return
        time.sleep(0.02)


def _last_log_line(tmp: Path) -> str:
    try:
        lines = (tmp / "browser.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    useful = [ln for ln in lines if "dbus" not in ln.lower()]
    return (useful or lines or [""])[-1][:300]


def _private_dirs(tmp: Path, profile: ProfileDirs | None) -> tuple[Path, Path]:
    """(user data dir, downloads dir): the persistent ones (its stale lock released), or
    throwaway ones inside ``tmp``; the profile's path is noted in ``tmp`` for the sweep."""
    if profile is None:
        user_data, downloads = tmp / "profile", tmp / "downloads"
        downloads.mkdir(mode=0o700)
    else:
        user_data, downloads = profile.user_data_dir, profile.downloads_dir
        if release_stale_lock(user_data):
            log.warning("capture.stale_profile_lock_removed", profile=str(user_data))
    (tmp / "profile.path").write_text(str(user_data))
    return user_data, downloads


async def launch_browser(
    cfg: CaptureConfig, *, headless: bool, profile: ProfileDirs | None = None
) -> LaunchedBrowser:
    """Start Chromium with a CDP pipe and check that it answers (``profile``: a persistent
    profile and downloads directory instead of throwaway ones)."""
    executable = find_executable(cfg.executable)
    env = child_env(headless)
    sweep_stale_dirs()
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))  # mode 0700
    (tmp / "agent.pid").write_text(str(os.getpid()))
    try:
        user_data, downloads = _private_dirs(tmp, profile)
        args = browser_args(
            cfg, headless=headless, user_data_dir=user_data, as_root=os.geteuid() == 0
        )
        pid, ev_r, cmd_w = _spawn(executable, args, env, tmp)
    except CaptureError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (tmp / "browser.pid").write_text(str(pid))
    conn = await connect_pipes(ev_r, cmd_w)
    browser = LaunchedBrowser(pid, conn, downloads, headless, tmp)
    browser.watch_exit()
    try:
        version = await conn.send("Browser.getVersion", timeout=20)
    except CaptureError as exc:
        why = _last_log_line(tmp) or exc.message
        await browser.close()
        raise CaptureError(f"cannot launch {executable}: {why}", retryable=True) from exc
    log.info("capture.browser_launched", headless=headless, version=version.get("product"))
    return browser
