"""The index backends a test runs against: a ``cfg`` override that a test module declares to
run each of its tests on SQLite and on PostgreSQL (a private server, a schema per test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import Config
from tests.pg import PgServer, postgres_config

BACKEND_NAMES = ("sqlite", "postgres")


def config_for(request: pytest.FixtureRequest, cfg: Config, backend: str) -> Config:
    """``cfg`` with ``index.backend`` set to ``backend`` (postgres: this test's schema on the
    private server, the password from its 0600 file)."""
    if backend == "sqlite":
        return cfg
    server: PgServer = request.getfixturevalue("pg_server")
    return postgres_config(cfg, server, request.getfixturevalue("pg_dsn"))


def write_home_config(home: Path, cfg: Config) -> None:
    """Put ``cfg``'s index backend in ``<home>/sessiontape.toml``, for code that loads the
    home's config itself (the scheduler job)."""
    if cfg.index.backend == "sqlite":
        return
    (home / "sessiontape.toml").write_text(
        "[index]\n"
        f'backend = "{cfg.index.backend}"\n'
        f"postgres_dsn = {json.dumps(cfg.index.postgres_dsn)}\n"
        f"postgres_password_file = {json.dumps(cfg.index.postgres_password_file)}\n",
        encoding="utf-8",
    )
