"""Our own Chromium launch: switches, the display rule, and a close that leaves nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from agent.capture.browser import browser_args, child_env, launch_browser, sweep_stale_dirs
from agent.capture.config import CaptureConfig
from agent.errors import CaptureError
from tests.waiting import wait_until

CHROMIUM = "/usr/lib/chromium/chromium"


def test_headful_without_a_display_is_an_error_not_a_silent_headless_browser() -> None:
    """No DISPLAY and no WAYLAND_DISPLAY: headful launch refuses, naming what is missing."""
    with pytest.raises(CaptureError) as err:
        child_env(False, {"PATH": "/usr/bin"})
    assert err.value.message == (
        "headful capture needs a display: neither DISPLAY nor WAYLAND_DISPLAY is set "
        "(set capture.headless = true or run under a display)"
    )
    assert child_env(False, {"DISPLAY": ":99"})["DISPLAY"] == ":99"
    assert "DISPLAY" not in child_env(True, {"PATH": "/usr/bin"})


def test_switches_pipe_profile_headless_and_sandbox_only_as_root_or_configured() -> None:
    """A pipe and never a port; --no-sandbox as root or when configured, not otherwise."""
    profile = Path("/tmp/prof")
    cfg = CaptureConfig(viewport_width=900, viewport_height=600)
    user = browser_args(cfg, headless=False, user_data_dir=profile, as_root=False)
    assert "--remote-debugging-pipe" in user and "--no-sandbox" not in user
    assert f"--user-data-dir={profile}" in user and "--window-size=900,600" in user
    assert not [a for a in user if a.startswith("--headless")]
    root = browser_args(cfg, headless=True, user_data_dir=profile, as_root=True)
    assert "--no-sandbox" in root and "--headless=new" in root
    forced = browser_args(
        CaptureConfig(no_sandbox=True), headless=True, user_data_dir=profile, as_root=False
    )
    assert "--no-sandbox" in forced


def _group(pgid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(entry))
    return out


@pytest.mark.browser
def test_close_kills_the_whole_process_group_reaps_the_browser_and_removes_the_profile() -> None:
    """After close: no process of the browser's group runs, the browser is no zombie of
    ours, and the private 0700 directory (profile, downloads) is gone."""

    async def main() -> tuple[int, Path, int]:
        b = await launch_browser(CaptureConfig(executable=CHROMIUM), headless=True)
        mode = b.tmp_dir.stat().st_mode & 0o777
        await b.conn.send("Target.createTarget", {"url": "about:blank"})
        assert len(_group(b.pid)) > 1  # the browser and its helpers share its group
        await b.close()
        return b.pid, b.tmp_dir, mode

    pid, tmp, mode = asyncio.run(main())
    assert mode == 0o700
    wait_until(lambda: not _group(pid), what="every process of the group to end", timeout_s=20)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: not a zombie child of ours
    assert not tmp.exists()


def test_directories_of_dead_agents_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    """A profile left by an agent that was killed is removed; one whose agent runs stays."""
    dead = tmp_path / "sessiontape-browser-dead"
    live = tmp_path / "sessiontape-browser-live"
    for d, pid in ((dead, _exited_pid()), (live, os.getpid())):
        (d / "profile").mkdir(parents=True)
        (d / "agent.pid").write_text(str(pid))
    assert sweep_stale_dirs(tmp_path) == [dead]
    assert not dead.exists() and live.exists()


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_sweep_kills_a_browser_that_outlived_its_agent_and_spares_a_persistent_profile(
    tmp_path: Path,
) -> None:
    """The agent of a private dir is dead but its browser (on a persistent profile) still
    runs: the sweep kills that browser's group and removes the private dir, not the profile."""
    profile = tmp_path / "profile"
    profile.mkdir(mode=0o700)
    (profile / "Cookies").write_text("kept")
    orphan = subprocess.Popen(
        ["sh", "-c", "sleep 60", f"--user-data-dir={profile}"], start_new_session=True
    )
    dead = subprocess.Popen(["true"])
    dead.wait()
    private = tmp_path / "sessiontape-browser-x"
    private.mkdir(mode=0o700)
    (private / "agent.pid").write_text(str(dead.pid))
    (private / "browser.pid").write_text(str(orphan.pid))
    (private / "profile.path").write_text(str(profile))
    try:
        assert sweep_stale_dirs(tmp_path) == [private]
        assert orphan.wait(10) == -9
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
    assert not private.exists()
    assert (profile / "Cookies").read_text() == "kept"
