"""Test doubles for the ship stage (re-exported from :mod:`agent.testing`).

* :class:`MemoryVault` - a dict-backed vault with the same refusals as the real ones.
* :class:`FlakyVault` - wraps any vault and injects failures: an error on the Nth call,
  connection resets, slow calls, a HEAD that reports the wrong lock state.
* :class:`FakeSource` - segments as opaque files, verification by recorded hash.
"""

from __future__ import annotations

import builtins
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from agent.canonical import sha256_hex
from agent.clock import Clock, SystemClock
from agent.errors import VaultError
from agent.ship.source import CheckpointMeta, SegmentMeta
from agent.ship.vault import (
    LockMode,
    NotFound,
    ObjectState,
    ObjectVersion,
    Posture,
    Receipt,
    Vault,
    VaultBackend,
    confirm,
)


@dataclass
class _Obj:
    data: bytes
    state: ObjectState


@dataclass
class _Later:
    """A version added over a locked original by a test hook (``None`` data: delete marker)."""

    data: bytes | None
    state: ObjectState


class MemoryVault(VaultBackend):
    """A :class:`~agent.ship.vault.Vault` in a dict; ``posture_override`` fakes bad buckets.

    ``objects`` holds each key's first (locked) version. What an attacker with bucket write
    access can add under Object Lock - a plain newer version (:meth:`add_plain_version`) or a
    delete marker (:meth:`add_delete_marker`) - goes in ``later``; ``head``/``get``/``list``
    then see the current version the way S3 does, and :meth:`versions` lists them all.
    """

    def __init__(self, *, clock: Clock | None = None, url: str = "memory://") -> None:
        self.url = url
        self.clock = clock or SystemClock()
        self.objects: dict[str, _Obj] = {}
        self.later: dict[str, list[_Later]] = {}
        self.put_calls = 0
        self.posture_override: Posture | None = None

    def _write_once(
        self, key: str, data: bytes, digest: str, ru: dt.datetime, mode: LockMode, hold: bool
    ) -> None:
        if key in self.objects:
            return
        self.put_calls += 1
        state = ObjectState(
            key=key,
            mode=mode,
            retain_until=ru,
            checksum_sha256=digest,
            version_id=uuid.uuid4().hex,
            legal_hold=hold,
            size=len(data),
            etag=digest[:32],
        )
        self.objects[key] = _Obj(bytes(data), state)

    def _current(self, key: str) -> tuple[bytes, ObjectState]:
        later = self.later.get(key)
        if later:
            if later[-1].data is None:
                raise NotFound(f"{key}: not found in {self.url} (delete marker)")
            return later[-1].data, later[-1].state
        try:
            obj = self.objects[key]
        except KeyError:
            raise NotFound(f"{key}: not found in {self.url}") from None
        return obj.data, obj.state

    def head(self, key: str) -> ObjectState:
        """The current version's state."""
        return self._current(key)[1]

    def get(self, key: str) -> bytes:
        """The current version's bytes."""
        return self._current(key)[0]

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` whose current version is not a delete marker, sorted."""
        return [k for k in self.list_versioned(prefix) if self._visible(k)]

    def _visible(self, key: str) -> bool:
        later = self.later.get(key)
        return bool(later[-1].data is not None) if later else key in self.objects

    def list_versioned(self, prefix: str = "") -> builtins.list[str]:
        """Keys under ``prefix`` with any version, sorted."""
        return sorted(k for k in set(self.objects) | set(self.later) if k.startswith(prefix))

    def _all(self, key: str) -> builtins.list[tuple[bytes | None, ObjectState]]:
        first = [(self.objects[key].data, self.objects[key].state)] if key in self.objects else []
        return first + [(v.data, v.state) for v in self.later.get(key, [])]

    def versions(self, key: str) -> builtins.list[ObjectVersion]:
        """Every version and delete marker, oldest first."""
        all_ = self._all(key)
        return [
            ObjectVersion(
                key=key,
                version_id=st.version_id,
                is_delete_marker=data is None,
                is_latest=i == len(all_) - 1,
                size=st.size,
            )
            for i, (data, st) in enumerate(all_)
        ]

    def _version(self, key: str, version_id: str) -> tuple[bytes, ObjectState]:
        for data, st in self._all(key):
            if st.version_id == version_id and data is not None:
                return data, st
        raise NotFound(f"{key} version {version_id}: not found in {self.url}")

    def head_version(self, key: str, version_id: str) -> ObjectState:
        """One version's state."""
        return self._version(key, version_id)[1]

    def get_version(self, key: str, version_id: str) -> bytes:
        """One version's bytes."""
        return self._version(key, version_id)[0]

    def add_plain_version(self, key: str, data: bytes) -> str:
        """What a plain PUT does under Object Lock: a newer, unlocked version; its id."""
        vid = uuid.uuid4().hex
        st = ObjectState(key, None, None, sha256_hex(data), vid, False, len(data), "")
        self.later.setdefault(key, []).append(_Later(bytes(data), st))
        return vid

    def add_delete_marker(self, key: str) -> str:
        """What a DELETE without a version id does under Object Lock: a delete marker."""
        vid = uuid.uuid4().hex
        st = ObjectState(key, None, None, None, vid, False, 0, "")
        self.later.setdefault(key, []).append(_Later(None, st))
        return vid

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Toggle the hold."""
        obj = self.objects.get(key)
        if obj is None:
            raise NotFound(f"{key}: not found in {self.url}")
        obj.state = replace(obj.state, legal_hold=on)

    def _set_retention(self, state: ObjectState, until: dt.datetime) -> None:
        obj = self.objects[state.key]
        obj.state = replace(obj.state, retain_until=until)

    def _remove(self, state: ObjectState) -> None:
        del self.objects[state.key]

    def posture(self) -> Posture:
        """Locked and versioned unless ``posture_override`` says otherwise."""
        if self.posture_override is not None:
            return self.posture_override
        return Posture(
            versioning="Enabled", object_lock=True, enforced_by="memory", server_time=self._now()
        )

    def corrupt(self, key: str, data: bytes) -> None:
        """Replace stored bytes behind the vault's back (for re-verify tests)."""
        self.objects[key].data = data


class FlakyVault:
    """Wrap a vault and inject failures by operation name and call number.

    ``fail_on[("put_immutable", 1)] = VaultError(...)`` raises on the 1st put; ``reset_puts``
    makes the next N puts raise a retryable connection reset; ``delay_s`` slows every call;
    ``wrong_lock`` makes HEAD report no lock; ``lose_put_response`` performs the put but then
    raises (the response was lost) - the classic "did it arrive?" case.
    """

    def __init__(self, inner: Vault, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.inner = inner
        self.url = inner.url
        self.calls: dict[str, int] = {}
        self.fail_on: dict[tuple[str, int], Exception] = {}
        self.fail_always: dict[str, Exception] = {}
        self.reset_puts = 0
        self.lose_put_response = 0
        self.delay_s = 0.0
        self.wrong_lock = False
        self._sleep = sleep

    def _enter(self, op: str) -> None:
        n = self.calls[op] = self.calls.get(op, 0) + 1
        if self.delay_s:
            self._sleep(self.delay_s)
        if op in self.fail_always:
            raise self.fail_always[op]
        exc = self.fail_on.get((op, n))
        if exc is not None:
            raise exc

    def put_immutable(
        self,
        key: str,
        data: bytes,
        *,
        retain_until: dt.datetime,
        mode: LockMode,
        legal_hold: bool = False,
    ) -> Receipt:
        self._enter("put_immutable")
        if self.reset_puts > 0:
            self.reset_puts -= 1
            raise VaultError(f"put {key}: connection reset by peer (injected)", retryable=True)
        receipt = self.inner.put_immutable(
            key, data, retain_until=retain_until, mode=mode, legal_hold=legal_hold
        )
        if self.lose_put_response > 0:
            self.lose_put_response -= 1
            raise VaultError(f"put {key}: response lost (injected)", retryable=True)
        if self.wrong_lock:
            return confirm(
                self.url,
                self.head(key),
                receipt.checksum_sha256,
                retain_until,
                mode,
                len(data),
                legal_hold,
            )
        return receipt

    def head(self, key: str) -> ObjectState:
        self._enter("head")
        state = self.inner.head(key)
        if self.wrong_lock:
            return replace(state, mode=None, retain_until=None)
        return state

    def get(self, key: str) -> bytes:
        self._enter("get")
        return self.inner.get(key)

    def list(self, prefix: str = "") -> list[str]:
        self._enter("list")
        return self.inner.list(prefix)

    def versions(self, key: str) -> builtins.list[ObjectVersion]:
        self._enter("versions")
        return self.inner.versions(key)

    def head_version(self, key: str, version_id: str) -> ObjectState:
        self._enter("head_version")
        return self.inner.head_version(key, version_id)

    def get_version(self, key: str, version_id: str) -> bytes:
        self._enter("get_version")
        return self.inner.get_version(key, version_id)

    def list_versioned(self, prefix: str = "") -> builtins.list[str]:
        self._enter("list_versioned")
        return self.inner.list_versioned(prefix)

    def set_legal_hold(self, key: str, on: bool) -> None:
        self._enter("set_legal_hold")
        self.inner.set_legal_hold(key, on)

    def extend_retention(self, key: str, version_id: str, until: dt.datetime) -> ObjectState:
        self._enter("extend_retention")
        return self.inner.extend_retention(key, version_id, until)

    def delete(self, key: str) -> None:
        self._enter("delete")
        self.inner.delete(key)

    def posture(self) -> Posture:
        self._enter("posture")
        return self.inner.posture()


class FakeSource:
    """A :class:`~agent.ship.source.SegmentSource` of opaque files (no journal needed).

    ``add(...)`` writes a segment file under ``<root>/<session>/<index>-<segment>.stj`` and
    remembers its SHA-256; :meth:`verify` fails when the bytes changed since (tampering) or
    the segment was marked ``bad``. Checkpoints are whatever a test puts in ``checkpoints``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.metas: dict[str, SegmentMeta] = {}
        self.digests: dict[str, str] = {}
        self.bad: set[str] = set()
        self.checkpoint_lists: dict[str, list[CheckpointMeta]] = {}
        self.verify_calls = 0

    def add(
        self,
        session_id: str,
        segment_id: str,
        data: bytes,
        *,
        index: int = 0,
        sealed_utc_ns: int | None = None,
        sealed: bool = True,
        record_class: str | None = None,
        retention_class: str = "",
    ) -> SegmentMeta:
        """Write the file and register it."""
        path = self.root / session_id / f"{index:06d}-{segment_id}.stj"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        meta = SegmentMeta(
            path=path,
            session_id=session_id,
            segment_id=segment_id,
            index=index,
            sealed=sealed,
            sealed_utc_ns=sealed_utc_ns,
            size_bytes=len(data),
            record_class=record_class,
            retention_class=retention_class,
            retention_rule="test" if retention_class else "",
        )
        self.metas[segment_id] = meta
        self.digests[path.name] = sha256_hex(data)
        return meta

    def seal(self, segment_id: str, sealed_utc_ns: int) -> None:
        """Mark an open segment sealed."""
        self.metas[segment_id] = replace(
            self.metas[segment_id], sealed=True, sealed_utc_ns=sealed_utc_ns
        )

    def segments(self) -> list[SegmentMeta]:
        return [m for m in self.metas.values() if m.path.exists()]

    def checkpoints(self, path: Path) -> list[CheckpointMeta]:
        return list(self.checkpoint_lists.get(path.name, []))

    def verify(self, path: Path) -> str | None:
        self.verify_calls += 1
        name = path.name.removeprefix("reverify-")
        seg_id = name.split("-", 1)[1][:-4] if "-" in name else name
        if seg_id in self.bad:
            return f"{name}: marked bad"
        if sha256_hex(path.read_bytes()) != self.digests.get(name):
            return f"{name}: bytes changed since sealing"
        return None

    def check_signature(self, key_id: str, signature: bytes, body: bytes) -> bool | None:
        return signature == sha256_hex(body).encode()[:16] if key_id == "fake" else None
