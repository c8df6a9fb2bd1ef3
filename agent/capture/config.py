"""The ``[capture]`` config section: browser launch, recorder cadence, budgets and caps."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from agent.configbase import Section
from agent.errors import CaptureError

# Tried in order when ``executable`` is empty: Debian's ELF first (the /usr/bin wrapper adds
# flags of its own), then what a workstation usually has on PATH.
_EXECUTABLE_CANDIDATES = (
    "/usr/lib/chromium/chromium",
    "google-chrome",
    "google-chrome-stable",
    "chromium",
    "chromium-browser",
    "chrome",
    "/opt/google/chrome/chrome",
)


NOTICE_TEXT = "This session is recorded"


class CaptureConfig(Section):
    """Everything the capture stage can be told; every key has a default."""

    executable: str = ""  # empty = auto-detect
    headless: Literal["auto", "true", "false"] = "auto"
    viewport_width: int = Field(default=1280, ge=200, le=10000)
    viewport_height: int = Field(default=800, ge=200, le=10000)
    flush_ms: int = Field(default=150, ge=10, le=5000)
    emit_ms: int = Field(default=2, ge=1, le=5000)
    heartbeat_ms: int = Field(default=1000, ge=100, le=60000)
    keyframe_seconds: int = Field(default=60, ge=1)
    body_cap_bytes: int = Field(default=1024 * 1024, ge=0)
    capture_unread_bodies: bool = True
    ws_received_budget_frames_per_sec: int = Field(default=200, ge=0)
    ws_received_budget_bytes_per_sec: int = Field(default=1024 * 1024, ge=0)
    ws_frame_cap_bytes: int = Field(default=64 * 1024, ge=0)
    screenshots: bool = False
    screenshot_width: int = Field(default=640, ge=64, le=4096)
    assets: bool = True
    asset_max_bytes: int = Field(default=16 * 1024 * 1024, ge=0)
    cause_window_ms: int = Field(default=1000, ge=0)
    gap_silence_ms: int = Field(default=3000, ge=200)
    flood_mutations_per_sec: int = Field(default=50_000, ge=100)
    clipboard_content: bool = False
    cssom_trigger: bool = True
    closed_shadow_roots: bool = True  # record closed shadow roots (found through CDP)
    extra_args: list[str] = []
    no_sandbox: bool = False  # --no-sandbox even when not root (always as root)
    allowed_schemes: list[str] = ["http", "https"]  # URL schemes `record` may open
    # The recording notice: a bar the recorder draws and keeps on top of every top-level page,
    # the prefix it keeps on the window title, both, or none. Both by default: a compliance
    # recorder tells the person recorded, and the title still shows while a page fights the
    # bar (each attempt on the bar is recorded as indicator.tampered).
    indicator: Literal["banner", "title", "both", "none"] = "both"
    indicator_text: str = Field(default=NOTICE_TEXT, min_length=1, max_length=200)

    def notice(self) -> dict[str, Any]:
        """The recorder's ``indicator`` config: draw the bar, prefix the title, the text."""
        return {
            "banner": self.indicator in ("banner", "both"),
            "title": self.indicator in ("title", "both"),
            "text": self.indicator_text,
        }

    def title_prefix(self) -> str:
        """What the recorder puts before a page's title ('' when the title carries no notice)."""
        return f"[{self.indicator_text}] " if self.indicator in ("title", "both") else ""

    @model_validator(mode="after")
    def _silence_longer_than_heartbeat(self) -> CaptureConfig:
        if self.gap_silence_ms <= self.heartbeat_ms + self.flush_ms:
            raise ValueError("gap_silence_ms must exceed heartbeat_ms + flush_ms")
        return self


def find_executable(configured: str = "") -> str:
    """The browser binary: the configured path, else the first candidate that exists."""
    if configured:
        found = shutil.which(configured) or (configured if Path(configured).is_file() else None)
        if not found:
            raise CaptureError(f"capture.executable {configured!r} not found")
        return found
    for cand in _EXECUTABLE_CANDIDATES:
        found = (
            shutil.which(cand)
            if not cand.startswith("/")
            else (cand if Path(cand).is_file() else None)
        )
        if found:
            return found
    raise CaptureError("no Chromium/Chrome found; set capture.executable")


def resolve_headless(
    setting: str, override: bool | None = None, env: dict[str, str] | None = None
) -> bool:
    """Headless when forced, or (``auto``) when there is no display to draw on."""
    if override is not None:
        return override
    if setting == "true":
        return True
    if setting == "false":
        return False
    env = dict(os.environ) if env is None else env
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))
