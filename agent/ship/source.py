"""The one place that knows the journal's API: segments, checkpoints, verification.

The shipper treats segments as opaque files with metadata. :class:`JournalSource` adapts
``agent.journal.store`` / ``agent.seal.verify`` / ``agent.keys``; tests may use
:class:`agent.ship.testing.FakeSource`, which has the same shape.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class SegmentMeta:
    """What the shipper needs to know about one segment file."""

    path: Path
    session_id: str
    segment_id: str
    index: int
    sealed: bool
    sealed_utc_ns: int | None
    size_bytes: int
    seal_hash_hex: str = ""
    user: str = ""
    record_class: str | None = None  # the genesis' explicit class (older seals)
    retention_class: str = ""  # the class the seal records ("" = none recorded)
    retention_rule: str = ""  # the rule that chose it


@dataclass(frozen=True)
class CheckpointMeta:
    """A signed checkpoint: canonical body bytes, signature, and the fields we compare."""

    n: int
    tree_size: int
    key_id: str
    body: bytes
    signature: bytes
    t_utc_ns: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class SegmentSource(Protocol):
    """Segments to ship, their checkpoints, and integrity verification."""

    def segments(self) -> list[SegmentMeta]: ...

    def checkpoints(self, path: Path) -> list[CheckpointMeta]: ...

    def verify(self, path: Path) -> str | None:
        """``None`` when the file verifies (integrity only, no decryption), else the failure."""
        ...

    def check_signature(self, key_id: str, signature: bytes, body: bytes) -> bool | None:
        """True/False for a trusted key; None when the key is unknown."""
        ...


def journal_checkpoints(path: Path) -> list[CheckpointMeta]:
    """A segment's checkpoints as the journal stores them (imports the journal lazily)."""
    from agent.journal.store import read_checkpoints

    return [
        CheckpointMeta(
            n=r.n,
            tree_size=int(r.body.get("tree_size", -1)),
            key_id=str(r.body.get("key_id", "")),
            body=r.body_bytes,
            signature=r.signature,
            t_utc_ns=int(r.body.get("t_utc_ns", 0)),
        )
        for r in read_checkpoints(path)
    ]


def vault_key(seg: SegmentMeta) -> str:
    """Where a segment lives in the vault: ``segments/<session>/<file name>``."""
    return f"segments/{seg.session_id}/{seg.path.name}"


def checkpoint_key(session_id: str, segment_id: str, n: int) -> str:
    """``checkpoints/<session>/<segment>/<n>.json``."""
    return f"checkpoints/{session_id}/{segment_id}/{n}.json"


UNREADABLE_QUIET_NS = 600 * 1_000_000_000


class JournalSource:
    """The real journal under ``<home>/journals`` (imports the journal's API lazily)."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._keyring: Any = None
        self._cache: dict[Path, tuple[tuple[int, int], SegmentMeta]] = {}

    def _keys(self) -> Any:
        if self._keyring is None:
            from agent.keys import Keyring

            self._keyring = Keyring.load(self.home)
        return self._keyring

    def segments(self) -> list[SegmentMeta]:
        """Every segment file under ``<home>/journals``.

        Runs every few seconds, so the metadata of *sealed* segments is cached by (path, mtime,
        size); open segments (whose writes land in the ``-wal`` file) are read every time.
        """
        from agent.journal import store

        out: list[SegmentMeta] = []
        seen: set[Path] = set()
        for sdir in store.session_dirs(self.home):
            for path in sorted(sdir.glob("*.stj")):
                try:
                    st = path.stat()
                except OSError:
                    continue
                seen.add(path)
                stamp = (st.st_mtime_ns, st.st_size)
                cached = self._cache.get(path)
                if cached is not None and cached[0] == stamp:
                    out.append(cached[1])
                    continue
                meta = _segment_meta(path, sdir.name, st)
                if meta is None:
                    continue
                if meta.sealed:  # only immutable segments are cached
                    self._cache[path] = (stamp, meta)
                out.append(meta)
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        return out

    def checkpoints(self, path: Path) -> list[CheckpointMeta]:
        return journal_checkpoints(path)

    def verify(self, path: Path) -> str | None:
        from agent.seal.verify import verify_paths

        report = verify_paths([path], self._keys().trust(), decrypt=False)
        if report.ok:
            return None
        return str(report.first_failure or "verification failed")

    def check_signature(self, key_id: str, signature: bytes, body: bytes) -> bool | None:
        result: bool | None = self._keys().trust().verify(key_id, signature, body)
        return result


def _segment_meta(path: Path, session_dir_name: str, st: os.stat_result) -> SegmentMeta | None:
    """What the journal's header says about ``path``; ``None`` while an unreadable one is new.

    An unreadable segment is offered as sealed once quiet for a while, so verification
    quarantines it (never shipped as good, never deleted).
    """
    from agent.errors import InputError
    from agent.journal import store

    try:
        info = store.segment_info(path, counts=False)
    except InputError:
        if time.time_ns() - st.st_mtime_ns < UNREADABLE_QUIET_NS:
            return None
        return SegmentMeta(
            path=path,
            session_id=session_dir_name,
            segment_id=path.stem,
            index=-1,
            sealed=True,
            sealed_utc_ns=st.st_mtime_ns,
            size_bytes=st.st_size,
        )
    return SegmentMeta(
        path=path,
        session_id=info.session_id or session_dir_name,
        segment_id=info.segment_id,
        index=info.index,
        sealed=info.sealed,
        sealed_utc_ns=info.sealed_utc_ns or None,
        size_bytes=info.size_bytes,
        seal_hash_hex=info.seal_hash_hex,
        user=info.user,
        record_class=info.record_class,
        retention_class=info.retention_class,
        retention_rule=info.retention_rule,
    )
