"""The [capture] config section: defaults, validation, browser and headless resolution."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.capture.config import CaptureConfig, find_executable, resolve_headless
from agent.config import load_config
from agent.errors import CaptureError, ConfigError


def test_defaults_match_the_documented_values() -> None:
    """The defaults promised in the config docs."""
    cfg = load_config(env={}).capture
    assert (
        cfg.keyframe_seconds,
        cfg.body_cap_bytes,
        cfg.cause_window_ms,
        cfg.gap_silence_ms,
        cfg.screenshots,
        cfg.clipboard_content,
    ) == (60, 1024 * 1024, 1000, 3000, False, False)


def test_silence_shorter_than_a_heartbeat_is_refused() -> None:
    """gap_silence_ms must exceed heartbeat_ms + flush_ms, or every page would be a gap."""
    with pytest.raises(ConfigError, match="gap_silence_ms"):
        load_config(env={"SESSIONTAPE_CAPTURE_GAP_SILENCE_MS": "1000"})


def test_headless_auto_follows_the_display_and_can_be_forced() -> None:
    """auto = headless without $DISPLAY; an explicit flag wins."""
    assert resolve_headless("auto", env={}) is True
    assert resolve_headless("auto", env={"DISPLAY": ":0"}) is False
    assert resolve_headless("false", env={}) is False
    assert resolve_headless("auto", True, env={"DISPLAY": ":0"}) is True


def test_missing_configured_browser_is_a_capture_error() -> None:
    """A configured executable that does not exist is named in the error."""
    with pytest.raises(CaptureError, match="no-such-chrome"):
        find_executable("/opt/no-such-chrome")
    assert find_executable(CaptureConfig().executable)  # this machine has Chromium


def test_indicator_defaults_to_both_and_maps_to_the_recorder_config() -> None:
    """A compliance default: banner and title; "none" draws nothing and prefixes nothing."""
    c = CaptureConfig()
    assert c.indicator == "both"
    assert c.notice() == {"banner": True, "title": True, "text": "This session is recorded"}
    assert c.title_prefix() == "[This session is recorded] "
    off = CaptureConfig(indicator="none")
    assert off.notice()["banner"] is False and off.notice()["title"] is False
    assert off.title_prefix() == ""
    with pytest.raises(ValidationError):
        CaptureConfig(indicator_text="")
