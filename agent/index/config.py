"""The ``[index]`` config section: where the index lives and what it keeps per event."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agent.configbase import Section
from agent.index.extract import Limits


class IndexConfig(Section):
    """Search index settings (the index is a cache: changing these needs `index rebuild`)."""

    db_path: str = ""  # "" = <home>/index.db
    keyframe_text_chars: int = Field(32768, ge=0, le=1_048_576)
    mutation_text_chars: int = Field(4096, ge=0, le=1_048_576)
    body_bytes: int = Field(4096, ge=0, le=1_048_576)
    ws_received_bytes: int = Field(1024, ge=0, le=1_048_576)
    skip_numeric_text: bool = True
    default_limit: int = Field(50, ge=1, le=10_000)

    def resolved_db_path(self, home: Path) -> Path:
        """The index database file."""
        return Path(self.db_path).expanduser() if self.db_path else Path(home) / "index.db"

    def limits(self) -> Limits:
        """The extraction caps."""
        return Limits(
            keyframe_text_chars=self.keyframe_text_chars,
            mutation_text_chars=self.mutation_text_chars,
            body_bytes=self.body_bytes,
            ws_received_bytes=self.ws_received_bytes,
            skip_numeric_text=self.skip_numeric_text,
        )
