"""Reaching the PostgreSQL index: DSN and password rules, and one-line errors naming the
server when it cannot be reached."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import Config, load_config
from agent.errors import ConfigError, IndexServerError
from agent.index.backend import open_index
from agent.index.pgconn import describe, read_password_file
from agent.index.pgindex import PostgresIndex
from tests.cli.clirun import run
from tests.pg import PgServer


def test_password_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A password file with group or other access is refused, naming the file and its mode."""
    f = tmp_path / "pg-password"
    f.write_text("s3cret\n", encoding="utf-8")
    f.chmod(0o640)
    with pytest.raises(ConfigError, match=r"pg-password: .* owner only \(mode 640\): chmod 600"):
        read_password_file(f)
    f.chmod(0o600)
    assert read_password_file(f) == "s3cret"


def test_factory_opens_postgres_with_the_password_file(
    home: Path, pg_cfg: Config, pg_server: PgServer
) -> None:
    """index.backend = postgres: the factory gives a PostgresIndex that logs in with the
    password from the 0600 file, and refuses the same file once others may read it."""
    ix = open_index(home, pg_cfg)
    try:
        assert isinstance(ix, PostgresIndex) and ix.stats().backend == "postgres"
    finally:
        ix.close()
    pg_server.password_file.chmod(0o644)
    try:
        with pytest.raises(ConfigError, match="readable by its owner only"):
            open_index(home, pg_cfg)
    finally:
        pg_server.password_file.chmod(0o600)


def test_wrong_password_names_the_server_not_the_password(pg_server: PgServer) -> None:
    """A refused login is one IndexServerError naming host, port and database."""
    with pytest.raises(IndexServerError) as info:
        PostgresIndex(pg_server.dsn(), key=b"\x01" * 32, password="not-the-password")
    msg = info.value.message
    assert f"host={pg_server.socket_dir} port={pg_server.port} dbname=sessiontape_test" in msg
    assert "password authentication failed" in msg and "not-the-password" not in msg
    assert "\n" not in msg


def test_dsn_holding_a_password_is_refused_when_config_loads() -> None:
    """A password in index.postgres_dsn (keyword or URL form) is a config error."""
    for dsn in ("host=db password=hunter2 dbname=x", "postgresql://u:hunter2@db/x"):
        with pytest.raises(ConfigError, match="must not hold a password"):
            load_config(env={"SESSIONTAPE_INDEX_POSTGRES_DSN": dsn})
    with pytest.raises(ConfigError, match='"postgres" needs index.postgres_dsn'):
        load_config(env={"SESSIONTAPE_INDEX_BACKEND": "postgres"})


def test_describe_names_host_port_and_database() -> None:
    """Messages name where the server is, from the DSN (URL or keywords)."""
    assert describe("postgresql://ix@db.firm.example:6432/st") == (
        "host=db.firm.example port=6432 dbname=st"
    )
    assert describe("host=/run/pg dbname=st user=ix") == "host=/run/pg port=5432 dbname=st"


def test_unreachable_server_is_exit_2_with_one_line_through_the_cli(home: Path) -> None:
    """`sessiontape search` and `index update` against a server that is not there exit 2 with
    one line naming host, port and database, no traceback."""
    env = {
        "SESSIONTAPE_INDEX_BACKEND": "postgres",
        "SESSIONTAPE_INDEX_POSTGRES_DSN": f"host={home} port=5999 dbname=firm user=ix",
    }
    for args in (("search", "margin"), ("index", "update")):
        r = run(*args, home=home, env=env)
        assert r.code == 2, (args, r.err)
        lines = [ln for ln in r.err.splitlines() if ln.strip() and not ln.startswith("{")]
        assert len(lines) == 1, r.err
        assert f"PostgreSQL search index at host={home} port=5999 dbname=firm" in lines[0]
