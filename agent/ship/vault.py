"""The WORM vault interface: one small Protocol, like httpx's transport.

A :class:`Vault` stores immutable objects with a retention lock. Backends:

* ``s3://bucket/prefix`` - :class:`agent.ship.s3.S3Vault` (S3 Object Lock, MinIO, Ceph RGW);
* ``file:///path`` - :class:`agent.ship.filevault.FileVault` (software-enforced, not WORM);
* ``memory://`` - :class:`agent.ship.testing.MemoryVault` (tests only).

:func:`agent.ship.urls.open_vault` opens one from its URL. The three backends inherit their
write-once and locked-delete rules from :class:`VaultBackend` and supply only the storage.
Every backend runs the same conformance suite (``tests/ship/test_vault_conformance.py``).
Checksums in this API are lowercase hex SHA-256; retention instants are timezone-aware UTC
``datetime`` values truncated to whole seconds (S3 keeps seconds).
"""

from __future__ import annotations

import builtins
import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol, cast

from agent.canonical import sha256_hex
from agent.clock import Clock, iso_seconds, ns_to_dt, parse_iso_seconds, utc_seconds
from agent.errors import PostureError, UnknownVersion, VaultError

LockMode = Literal["COMPLIANCE", "GOVERNANCE"]
RECEIPT_VERSION = 1


@dataclass(frozen=True)
class Receipt:
    """Proof that an object was stored and HEAD-confirmed locked (kept locally and beside it)."""

    key: str
    version_id: str
    etag: str
    checksum_sha256: str
    retain_until: dt.datetime
    mode: LockMode
    size: int
    legal_hold: bool = False
    vault: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON object (versioned) for the receipt object and the state DB."""
        d = asdict(self)
        d["retain_until"] = iso_seconds(self.retain_until)
        d["v"] = RECEIPT_VERSION
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Receipt:
        """Inverse of :meth:`to_json`; refuses unknown versions."""
        if d.get("v") != RECEIPT_VERSION:
            raise UnknownVersion(f"receipt version {d.get('v')!r}")
        names = {f.name for f in fields(cls)}
        body = {k: v for k, v in d.items() if k in names}  # extra fields ride along
        body["retain_until"] = parse_iso_seconds(str(body["retain_until"]))
        return cls(**body)


@dataclass(frozen=True)
class ObjectState:
    """What the vault reports about one stored object (the current version)."""

    key: str
    mode: str | None
    retain_until: dt.datetime | None
    checksum_sha256: str | None
    version_id: str
    legal_hold: bool
    size: int
    etag: str = ""


@dataclass(frozen=True)
class ObjectVersion:
    """One version of a key, as the store lists it (oldest first in :meth:`Vault.versions`).

    A delete marker has no bytes: ``size`` is 0 and the checksum and lock fields are empty.
    """

    key: str
    version_id: str
    is_delete_marker: bool
    is_latest: bool
    size: int = 0
    last_modified: dt.datetime | None = None


@dataclass(frozen=True)
class Posture:
    """How the store protects objects; checked against policy by :mod:`agent.ship.posture`."""

    versioning: str | None  # "Enabled", "Suspended" or None (never enabled)
    object_lock: bool
    default_mode: str | None = None
    default_retention_days: int | None = None
    enforced_by: Literal["server", "software", "memory"] = "server"
    server_time: dt.datetime | None = None  # from the store's Date header, when known
    notes: list[str] = field(default_factory=list)


class Vault(Protocol):
    """Immutable object storage with retention locks and legal holds.

    ``put_immutable`` is idempotent for identical bytes (returns the existing version's
    receipt) and refuses different bytes under an existing key. ``delete`` refuses while a
    retention lock or legal hold is in force, whatever the server would do.

    ``head``, ``get`` and ``list`` see the *current* version only, which anyone with write
    access to a bucket can change under Object Lock: a plain PUT adds a newer version, a
    DELETE without a version id adds a delete marker that hides the key from ``list``. Record
    reads therefore go by version: ``versions`` (oldest first, delete markers included),
    ``head_version``/``get_version`` by version id, and ``list_versioned`` (every key with
    any version, including those whose current version is a delete marker).
    """

    url: str

    def put_immutable(
        self,
        key: str,
        data: bytes,
        *,
        retain_until: dt.datetime,
        mode: LockMode,
        legal_hold: bool = False,
    ) -> Receipt: ...

    def head(self, key: str) -> ObjectState: ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def versions(self, key: str) -> builtins.list[ObjectVersion]: ...

    def head_version(self, key: str, version_id: str) -> ObjectState: ...

    def get_version(self, key: str, version_id: str) -> bytes: ...

    def list_versioned(self, prefix: str = "") -> builtins.list[str]: ...

    def set_legal_hold(self, key: str, on: bool) -> None: ...

    def extend_retention(self, key: str, version_id: str, until: dt.datetime) -> ObjectState: ...

    def delete(self, key: str) -> None: ...

    def posture(self) -> Posture: ...


class NotFound(VaultError):
    """The key does not exist in the vault (a :class:`VaultError`, never retryable)."""


def check_put_args(key: str, retain_until: dt.datetime, mode: str, now: dt.datetime) -> None:
    """Client-side refusals every backend applies before writing."""
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise VaultError(f"invalid object key {key!r}")
    if mode not in ("COMPLIANCE", "GOVERNANCE"):
        raise VaultError(f"invalid lock mode {mode!r}")
    if utc_seconds(retain_until) <= now:
        raise PostureError(
            f"{key}: retain-until {iso_seconds(retain_until)} is not in the future "
            f"(now {iso_seconds(now)}); is the clock far off?"
        )


def refuse_locked_delete(state: ObjectState, now: dt.datetime) -> None:
    """Raise unless ``state`` may be deleted now (no hold, retain-until passed)."""
    if state.legal_hold:
        raise VaultError(f"{state.key}: under legal hold; delete refused", retryable=False)
    if state.retain_until is not None and state.retain_until > now:
        raise VaultError(
            f"{state.key}: retained until {state.retain_until.isoformat()}; delete refused",
            retryable=False,
        )


def confirm(
    url: str,
    state: ObjectState,
    digest: str,
    retain_until: dt.datetime,
    mode: str,
    size: int,
    legal_hold: bool,
) -> Receipt:
    """Compare HEAD with what we asked for; a store that did not lock is a posture failure."""
    if state.checksum_sha256 != digest or state.size != size:
        raise VaultError(
            f"{state.key}: HEAD checksum/size mismatch after upload "
            f"({state.checksum_sha256}/{state.size} vs {digest}/{size})",
            retryable=True,
        )
    if state.mode != mode:
        raise PostureError(
            f"{state.key}: stored with lock mode {state.mode!r}, expected "
            f"{mode!r}: the store does not honour Object Lock"
        )
    if state.retain_until is None or state.retain_until < utc_seconds(retain_until):
        raise PostureError(
            f"{state.key}: stored retain-until {state.retain_until} is before "
            f"the requested {retain_until.isoformat()}: the store does not "
            "honour Object Lock"
        )
    if legal_hold and not state.legal_hold:
        raise PostureError(f"{state.key}: legal hold requested but not applied")
    return Receipt(
        key=state.key,
        version_id=state.version_id,
        etag=state.etag,
        checksum_sha256=digest,
        retain_until=state.retain_until,
        mode=cast(LockMode, mode),
        size=size,
        legal_hold=state.legal_hold,
        vault=url,
    )


class VaultBackend:
    """The half of a :class:`Vault` that every storage backend shares: the write-once rules.

    ``put_immutable`` refuses bad arguments, writes the bytes unless the key exists
    (:meth:`_write_once`), HEADs, refuses different bytes under the key and confirms the lock;
    ``delete`` refuses while a retention lock or legal hold is in force, then removes the
    object (:meth:`_remove`). A backend sets ``url`` and ``clock`` and supplies the storage.
    """

    url: str
    clock: Clock

    def _now(self) -> dt.datetime:
        return ns_to_dt(self.clock.utc_ns())

    def put_immutable(
        self,
        key: str,
        data: bytes,
        *,
        retain_until: dt.datetime,
        mode: LockMode,
        legal_hold: bool = False,
    ) -> Receipt:
        """Store once and HEAD-confirm the lock; identical bytes return the existing receipt."""
        check_put_args(key, retain_until, mode, self._now())
        digest = sha256_hex(data)
        ru = utc_seconds(retain_until)
        self._write_once(key, data, digest, ru, mode, legal_hold)
        state = self.head(key)
        if state.checksum_sha256 != digest:
            raise VaultError(
                f"{key}: an object with different content already exists "
                f"(stored {state.checksum_sha256}, ours {digest}); refusing to "
                "overwrite",
                retryable=False,
            )
        return confirm(self.url, state, digest, ru, mode, len(data), legal_hold)

    def delete(self, key: str) -> None:
        """Refused before retain-until and under a legal hold, whatever the store would do."""
        state = self.head(key)
        refuse_locked_delete(state, self._now())
        self._remove(state)

    def extend_retention(self, key: str, version_id: str, until: dt.datetime) -> ObjectState:
        """Lock ``key`` (that version; "" = the current one) until at least ``until``, and
        HEAD-confirm it. Retention is never shortened: an object already locked as long or
        longer is left as it is. COMPLIANCE retention may be extended, never reduced."""
        state = self.head(key)
        if version_id and state.version_id != version_id:
            raise VaultError(
                f"{key}: the current version is {state.version_id}, not {version_id}",
                retryable=False,
            )
        ru = utc_seconds(until)
        if state.retain_until is not None and state.retain_until >= ru:
            return state
        self._set_retention(state, ru)
        after = self.head(key)
        if after.retain_until is None or after.retain_until < ru:
            raise PostureError(f"{key}: the store did not extend retention to {iso_seconds(ru)}")
        return after

    def head(self, key: str) -> ObjectState:
        """What the store reports about the current version of ``key``."""
        raise NotImplementedError

    def _set_retention(self, state: ObjectState, until: dt.datetime) -> None:
        """Set the lock of the version ``state`` describes to ``until`` (same mode)."""
        raise NotImplementedError

    def _write_once(
        self, key: str, data: bytes, digest: str, ru: dt.datetime, mode: LockMode, hold: bool
    ) -> None:
        """Store ``data`` under ``key`` locked until ``ru``, unless ``key`` already exists."""
        raise NotImplementedError

    def _remove(self, state: ObjectState) -> None:
        """Remove the (unlocked) object ``state`` describes."""
        raise NotImplementedError
