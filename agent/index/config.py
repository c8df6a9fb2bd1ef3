"""The ``[index]`` config section: where the index lives and what it keeps per event."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
    # "sqlite": one file on this machine; "postgres": a database server (the firm console).
    backend: Literal["sqlite", "postgres"] = "sqlite"
    postgres_dsn: str = ""  # libpq DSN or URL, never with a password
    postgres_password_file: str = ""  # "" = libpq's own (~/.pgpass, PGPASSFILE, peer ...)

    @field_validator("postgres_dsn")
    @classmethod
    def _no_password_in_dsn(cls, v: str) -> str:
        if not v:
            return v
        from agent.errors import ConfigError
        from agent.index.pgconn import check_dsn

        try:
            return check_dsn(v)
        except ConfigError as exc:
            raise ValueError(exc.message) from None

    @model_validator(mode="after")
    def _postgres_needs_a_dsn(self) -> IndexConfig:
        if self.backend == "postgres" and not self.postgres_dsn:
            raise ValueError('index.backend = "postgres" needs index.postgres_dsn')
        return self

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
