"""A private PostgreSQL server for the tests: ``initdb`` + ``pg_ctl`` from Debian's packages.

The server lives in a fresh temporary directory, listens only on a Unix socket in that
directory (``listen_addresses=''``) and is stopped when the test session ends, also after a
failure. PostgreSQL refuses to run as root, so under root the cluster is created and started
as the ``postgres`` OS account (``runuser``), the directory owned by it.

Fixtures (registered for every test through ``pytest_plugins`` in ``tests/conftest.py``):

* ``pg_server`` (session): the running :class:`PgServer` - its socket directory, port, the
  test database and role (password authentication, so the password-file path is real).
* ``pg_dsn`` (function): a libpq DSN whose ``search_path`` is a fresh schema for this test
  only (dropped afterwards), so tests never see each other's tables; the role's password is
  in ``pg_server.password``/``pg_server.password_file``.
* ``pg_cfg`` (function): the ``cfg`` fixture's config with ``index.backend = "postgres"`` on
  that schema (password from the server's 0600 file): ``open_index(home, pg_cfg)`` and
  everything that takes a config use PostgreSQL.

A test that needs PostgreSQL is skipped, saying why, when no PostgreSQL binaries are
installed (``.ci/setup.sh`` installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from agent.config import Config

DATABASE = "sessiontape_test"
ROLE = "sessiontape_test"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` directory (Debian layout), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


@dataclass(frozen=True)
class PgServer:
    """A running private server: where its socket is, and the test database and role."""

    socket_dir: Path
    port: int
    password: str
    password_file: Path
    data_dir: Path | None = None  # for stop()/start(): a test that takes the server down
    owner: str | None = None

    def _pg_ctl(self, *args: str) -> None:
        bindir = pg_bin()
        assert bindir is not None and self.data_dir is not None
        log = str(self.data_dir.parent / "log")
        _run([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", log, *args], self.owner)

    def stop(self) -> None:
        """Stop the server at once (connections are cut, as in a crash of the database)."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def start(self) -> None:
        """Start it again on the same socket and port; return once it accepts connections."""
        self._pg_ctl("-w", "-t", "60", "start")

    def dsn(self, dbname: str = DATABASE, user: str = ROLE, **options: str) -> str:
        """A libpq keyword DSN for ``dbname`` as ``user`` (no password in it)."""
        parts = {"host": str(self.socket_dir), "port": str(self.port), "dbname": dbname}
        parts |= {"user": user, **options}
        return " ".join(f"{k}={_quote(v)}" for k, v in parts.items())

    def admin(self, dbname: str = DATABASE) -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection (``postgres``, trusted on the socket) in autocommit."""
        return psycopg.connect(self.dsn(dbname, user="postgres"), autocommit=True)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _as_owner(owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--"] if owner else []


def _run(cmd: list[str], owner: str | None) -> None:
    proc = subprocess.run(
        [*_as_owner(owner), *cmd], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr or proc.stdout}")


def _write_conf(data: Path, sock: Path, port: int, durable: bool) -> None:
    # Not durable (the default for tests): a commit returns before its WAL is flushed, which
    # a server crash would lose. A test that crashes the server needs durable commits, as
    # production has (PostgreSQL's defaults).
    speed = "" if durable else "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
    with (data / "postgresql.conf").open("a", encoding="utf-8") as f:
        f.write(
            f"listen_addresses = ''\nunix_socket_directories = '{sock}'\nport = {port}\n"
            f"{speed}shared_buffers = 64MB\nmax_connections = 60\n"
        )
    # The superuser is trusted on the private socket; the test role must give its password.
    (data / "pg_hba.conf").write_text(
        "local all postgres trust\nlocal all all scram-sha-256\n", encoding="utf-8"
    )


@contextlib.contextmanager
def running_server(*, durable: bool = False) -> Iterator[PgServer]:
    """Start a private server in a temporary directory; stop it and remove the directory
    (``durable``: PostgreSQL's own commit durability, for a test that crashes the server)."""
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (.ci/setup.sh installs postgresql)")
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="sessiontape-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if owner:
        pw = pwd.getpwnam(owner)
        for p in (root, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    port = 20000 + secrets.randbelow(40000)
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"], owner)
        _write_conf(data, sock, port, durable)
        _run([*pg_ctl, "-l", str(root / "log"), "-w", "-t", "60", "start"], owner)
        try:
            server = replace(_provision(sock, port, root), data_dir=data, owner=owner)
            yield server
        finally:
            _run([*pg_ctl, "-m", "immediate", "-w", "stop"], owner)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _provision(sock: Path, port: int, root: Path) -> PgServer:
    """The test role (with a password) owning the test database, where pg_trgm is created."""
    password = secrets.token_urlsafe(18)
    pwfile = root / "pg-password"
    pwfile.write_text(password + "\n", encoding="utf-8")
    pwfile.chmod(0o600)
    server = PgServer(sock, port, password, pwfile)
    with server.admin("postgres") as con:
        con.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(ROLE), sql.Literal(password)
            )
        )
        con.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(DATABASE), sql.Identifier(ROLE)
            )
        )
    with server.admin() as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One private PostgreSQL server for the whole test session."""
    with running_server() as server:
        yield server


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> Iterator[str]:
    """A DSN whose tables land in a schema of this test alone (dropped afterwards)."""
    schema = "t_" + secrets.token_hex(6)
    with pg_server.admin() as con:
        con.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {ROLE}")
    yield pg_server.dsn(options=f"-c search_path={schema},public")
    with pg_server.admin() as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


def postgres_config(cfg: Config, server: PgServer, dsn: str) -> Config:
    """``cfg`` with its index on PostgreSQL at ``dsn`` (password from the server's file)."""
    index = cfg.index.model_copy(
        update={
            "backend": "postgres",
            "postgres_dsn": dsn,
            "postgres_password_file": str(server.password_file),
        }
    )
    return cfg.model_copy(update={"index": index})


@pytest.fixture
def pg_cfg(cfg: Config, pg_server: PgServer, pg_dsn: str) -> Config:
    """The test config with the search index on this test's PostgreSQL schema."""
    return postgres_config(cfg, pg_server, pg_dsn)
