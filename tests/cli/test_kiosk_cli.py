"""``sessiontape kiosk`` refuses what it cannot run, with one line and exit 2, before any
browser starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.clirun import run_main
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_kiosk_without_a_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run_main(capsys, "kiosk", "--allow", "https://bank.example", "--headless")
    assert code == 2
    assert (
        err.strip() == "sessiontape: error: sessiontape kiosk: no URL (give --url or set kiosk.url)"
    )


def test_kiosk_url_outside_the_allowlist_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["kiosk", "--url", "https://evil.example/", "--allow", "https://bank.example"]
    code, _out, err = run_main(capsys, *argv, "--headless")
    assert code == 2
    assert err.strip() == (
        "sessiontape: error: kiosk start URL 'https://evil.example/' is not in the allowlist"
    )


def test_kiosk_bad_idle_minutes_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["kiosk", "--url", "https://bank.example/", "--allow", "https://bank.example"]
    code, _out, err = run_main(capsys, *argv, "--idle-minutes", "0", "--headless")
    assert code == 2
    assert "--idle-minutes 0 must be above 0" in err


def test_require_supervisor_comes_from_the_flag_or_the_config() -> None:
    from agent.cli.kiosk import _options
    from agent.config import load_config

    cfg = load_config(env={})
    required = cfg.model_copy(
        update={"kiosk": cfg.kiosk.model_copy(update={"require_supervisor": True})}
    )
    flag = _options(cfg, None, None, 0, True, True)
    config = _options(required, None, None, 0, True, False)
    neither = _options(cfg, None, None, 0, True, False)
    assert (flag.require_supervisor, config.require_supervisor) == (True, True)
    assert neither.require_supervisor is False


@pytest.mark.browser
def test_kiosk_stopped_on_the_start_screen_exits_0_and_records_nothing(tmp_path: Path) -> None:
    """The real command, headless: the start screen comes up; SIGTERM there stops the kiosk
    cleanly with no customer session (nothing of the start screen is kept)."""
    home, out = tmp_path / "home", tmp_path / "kiosk.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    env.update(PYTHONPATH=str(ROOT), SESSIONTAPE_CAPTURE_EXECUTABLE="/usr/lib/chromium/chromium")
    argv = ["--home", str(home), "kiosk", "--url", "https://bank.example/", "--headless"]
    with out.open("w") as o:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.main", *argv, "--allow", "https://bank.example"],
            env=env,
            stdout=o,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
    try:
        wait_until(lambda: "start screen shown" in out.read_text(), what="the start screen")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopped (stopped); 0 customer session(s) sealed, verified" in out.read_text()
    assert not list((home / "journals").glob("*"))
