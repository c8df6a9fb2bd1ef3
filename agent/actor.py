"""Who is acting, for audit records: the OS account running the command, never free text.

The identity is the process's real uid and that uid's name in the password database
(``pwd.getpwuid(os.getuid())``). It is never read from environment variables such as
``USER``, ``LOGNAME`` or ``SUDO_USER``, nor from a command-line flag: those are whatever the
caller sets. ``--actor`` and ``$SESSIONTAPE_ACTOR`` are kept, but only as a free-text
``note`` recorded beside the identity (a ticket number, the person at the keyboard of a
shared service account). When a console with its own login exists, its authenticated user
will be recorded the same way, beside the OS account.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from typing import Any

NOTE_ENV = "SESSIONTAPE_ACTOR"


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
    text = actor_note(note)
    if text:
        fields["note"] = text
    return fields
