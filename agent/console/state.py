"""What every console request works with: the firm home, its config, the console database,
the cookie signer, the origins this console answers for, and the audit writer.

The cookie secret is 32 random bytes in ``<home>/console/cookie.key`` (0600), created on the
first run; replacing the file signs everyone out.
"""

from __future__ import annotations

import os
import secrets
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import URLSafeTimedSerializer

from agent.actor import acting_as
from agent.audit import record_access
from agent.clock import Clock, SystemClock
from agent.config import Config
from agent.console.accounts import ConsoleStore, open_store
from agent.console.identity import Principal
from agent.errors import StorageError

SECRET_FILE = "cookie.key"
ANONYMOUS = "anonymous"  # the actor of what happens before a sign-in succeeds


def cookie_secret(state_dir: Path) -> bytes:
    """The session-cookie signing secret, created (0600) on first use."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)
    path = state_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    secret = secrets.token_bytes(32)
    try:
        os.write(fd, secret)
        os.fsync(fd)
    finally:
        os.close(fd)
    return secret


@dataclass
class ConsoleState:
    """The console's shared state (one per app)."""

    home: Path
    config: Config
    store: ConsoleStore
    signer: URLSafeTimedSerializer
    origins: frozenset[str]
    hosts: frozenset[str]
    secure: bool = False
    clock: Clock = field(default_factory=SystemClock)
    views: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cookie_name(self) -> str:
        """``__Host-`` bound to this origin over HTTPS; a plain name over loopback HTTP."""
        return "__Host-st_console" if self.secure else "st_console"

    def close(self) -> None:
        """Close open replay sessions and the database."""
        with self.lock:
            views, self.views = list(self.views.values()), {}
        for v in views:
            v.close()
        self.store.close()

    def now(self) -> int:
        return self.clock.utc_ns()

    def vault_url(self) -> str:
        """Where the console reads records from."""
        return self.config.console.vault_url or self.config.ship.resolved_vault_url(self.home)

    def audit(self, who: Principal | None, kind: str, payload: dict[str, Any]) -> str:
        """Seal one audit record naming ``who`` (or :data:`ANONYMOUS`) as the actor; raises
        when it cannot be written, so the caller does not act (a disk failure is a
        :class:`StorageError`: the page answers 503)."""
        with acting(who):
            try:
                return record_access(self.home, self.config, kind, payload, clock=self.clock)
            except OSError as exc:
                raise StorageError(f"audit record {kind} not written: {exc}") from exc


def acting(who: Principal | None, note: str | None = None) -> AbstractContextManager[None]:
    """Audit records written inside name ``who`` (or :data:`ANONYMOUS`) as the actor."""
    subject, roles = (who.subject, tuple(who.roles)) if who else (ANONYMOUS, ())
    return acting_as(subject, roles, note)


def state_of_app(app: Any) -> ConsoleState:
    """The state a console app carries."""
    st: ConsoleState = app.state.console
    return st


def new_state(
    home: Path,
    config: Config,
    origins: frozenset[str],
    hosts: frozenset[str],
    *,
    secure: bool = False,
    clock: Clock | None = None,
    store: ConsoleStore | None = None,
) -> ConsoleState:
    """The state of a console serving ``home`` for ``origins`` (scheme://host:port)."""
    sdir = config.console.state_dir(home)
    signer = URLSafeTimedSerializer(cookie_secret(sdir), salt="sessiontape-console")
    return ConsoleState(
        Path(home),
        config,
        store or open_store(home),
        signer,
        origins,
        hosts,
        secure,
        clock or SystemClock(),
    )
