"""The one place that opens the configured search index: SQLite or PostgreSQL.

Every caller that needs the index - ``sessiontape index``/``search``, the scheduler job, a
rebuild from the vault, the console's readers and ingestion workers - goes through
:func:`open_index`, so ``index.backend`` switches all of them at once.
"""

from __future__ import annotations

from pathlib import Path

from agent.config import Config
from agent.index.base import SearchIndex


def open_index(
    home: Path, config: Config, *, readonly: bool = False, rekey: bool = False
) -> SearchIndex:
    """The configured index under the home's index key.

    ``index.backend = "sqlite"``: the file ``index.db_path`` (``<home>/index.db``);
    ``"postgres"``: the database ``index.postgres_dsn`` names, the password from
    ``index.postgres_password_file`` (0600) or libpq's own mechanisms. ``readonly``: never
    create anything (a missing index is a usage error saying how to build it); ``rekey`` (a
    rebuild) takes over an index built under another key instead of refusing it. An
    unreachable server is an :class:`~agent.errors.IndexServerError` naming host, port and
    database.
    """
    from agent.index.cipher import index_key

    ic = config.index
    if ic.backend == "postgres":
        from agent.index.pgconn import read_password_file
        from agent.index.pgindex import PostgresIndex

        password = None
        if ic.postgres_password_file:
            password = read_password_file(Path(ic.postgres_password_file).expanduser())
        return PostgresIndex(
            ic.postgres_dsn, key=index_key(home), password=password, readonly=readonly, rekey=rekey
        )
    from agent.index.sqlite import SqliteIndex

    return SqliteIndex(
        ic.resolved_db_path(home), key=index_key(home), readonly=readonly, rekey=rekey
    )
