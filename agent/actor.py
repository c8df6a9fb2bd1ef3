"""Who is acting, for audit records: the OS account running the command, never free text.

The identity is the process's real uid and that uid's name in the password database
(``pwd.getpwuid(os.getuid())``). It is never read from environment variables such as
``USER``, ``LOGNAME`` or ``SUDO_USER``, nor from a command-line flag: those are whatever the
caller sets. ``--actor`` and ``$SESSIONTAPE_ACTOR`` are kept, but only as a free-text
``note`` recorded beside the identity (a ticket number, the person at the keyboard of a
shared service account). When a console with its own login exists, its authenticated user
will be recorded the same way, beside the OS account.

The console signs people in: while it acts for one (:func:`acting_as`), ``actor`` is the
authenticated subject (``local:<account>`` or ``oidc:<issuer>#<sub>``) with its roles in
``actor_roles``, and the OS account that ran the console stays beside it as ``os_actor`` and
``actor_uid``.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

NOTE_ENV = "SESSIONTAPE_ACTOR"
_ACTING: ContextVar[tuple[str, tuple[str, ...], str | None] | None] = ContextVar(
    "acting", default=None
)


@dataclass(frozen=True)
class Actor:
    """An OS account: its uid and its name (the uid as text when it has no passwd entry)."""

    uid: int
    name: str


def os_actor() -> Actor:
    """The account running this process (real uid), from the password database."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry (containers): the number is the identity
        name = str(uid)
    return Actor(uid, name)


def actor_note(note: str | None = None) -> str | None:
    """The free-text note beside the identity: ``note`` (``--actor``), else
    ``$SESSIONTAPE_ACTOR``, else None. Never used as the identity."""
    text = note if note is not None else os.environ.get(NOTE_ENV)
    return text.strip() or None if text else None


def actor_fields(note: str | None = None) -> dict[str, Any]:
    """The fields every audit record carries: ``actor``, ``actor_uid`` and, when given,
    ``note``."""
    who = os_actor()
    fields: dict[str, Any] = {"actor": who.name, "actor_uid": who.uid}
    acting = _ACTING.get()
    if acting is not None:
        fields = {"actor": acting[0], "actor_roles": list(acting[1]), "os_actor": who.name}
        fields["actor_uid"] = who.uid
    text = actor_note(note if note is not None or acting is None else acting[2])
    if text:
        fields["note"] = text
    return fields


@contextmanager
def acting_as(subject: str, roles: tuple[str, ...], note: str | None = None) -> Iterator[None]:
    """Within the block (this thread or task), audit records name ``subject`` as the actor,
    with ``roles`` and, when given, ``note`` (e.g. the reason typed for a hold); the OS
    account is kept as ``os_actor``."""
    token = _ACTING.set((subject, tuple(sorted(roles)), note))
    try:
        yield
    finally:
        _ACTING.reset(token)
