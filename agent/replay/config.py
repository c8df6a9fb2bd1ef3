"""The ``[replay]`` section of sessiontape.toml."""

from __future__ import annotations

from pydantic import Field

from agent.configbase import Section


class ReplayConfig(Section):
    events_page_size: int = Field(5000, ge=100, le=100000)  # max events per /api/events answer
    chunk_cache: int = Field(64, ge=4)  # decoded chunks kept in memory by the viewer
    open_browser: bool = True  # open the viewer URL in the default browser (--no-open: never)
    # report.html / report.pdf of an export
    report_thumbnails: int = Field(40, ge=0, le=1000)  # pictures per session (0: none)
    report_thumbnail_width: int = Field(480, ge=64, le=1920)  # pixels
    report_pdf: bool = True  # print report.html to report.pdf with headless Chromium
    report_order_urls: list[str] = ["*/api/orders*", "*/api/confirm*"]  # order requests
    report_order_ws_types: list[str] = ["order"]  # JSON "type" of a sent WebSocket order
