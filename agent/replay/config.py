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
    # The live viewer (`sessiontape watch`, and the kiosk's supervision page)
    live_listen: str = "127.0.0.1:0"  # HOST:PORT; a non-loopback HOST needs TLS and a token file
    live_tls_cert: str = ""  # PEM certificate chain (required off loopback)
    live_tls_key: str = ""  # PEM private key (required off loopback)
    live_token_file: str = ""  # "NAME TOKEN" lines, 0600, owned by the agent (off loopback)
    live_server_names: list[str] = []  # host names supervisors use in the URL (Host check)
    live_poll_ms: int = Field(250, ge=10, le=5000)  # how often the open segment is read
    live_leave_seconds: float = Field(10.0, gt=0)  # a viewer silent this long has left
