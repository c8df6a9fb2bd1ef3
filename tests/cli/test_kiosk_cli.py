"""``sessiontape kiosk`` refuses what it cannot run, with one line and exit 2, before any
browser starts."""

from __future__ import annotations

import pytest

from tests.cli.clirun import run_main


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
