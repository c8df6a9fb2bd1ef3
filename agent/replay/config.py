"""The ``[replay]`` section of sessiontape.toml."""

from __future__ import annotations

from pydantic import Field

from agent.configbase import Section


class ReplayConfig(Section):
    events_page_size: int = Field(5000, ge=100, le=100000)  # max events per /api/events answer
    chunk_cache: int = Field(64, ge=4)  # decoded chunks kept in memory by the viewer
    open_browser: bool = True  # open the viewer URL in the default browser (--no-open: never)
