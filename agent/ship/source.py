"""The one place that knows the journal's API: segments, checkpoints, verification.

The shipper treats segments as opaque files with metadata. :class:`JournalSource` adapts
``agent.journal.store`` / ``agent.seal.verify`` / ``agent.keys``; tests may use
:class:`agent.ship.testing.FakeSource`, which has the same shape.
"""

from __future__ import annotations

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
    urls: tuple[str, ...] = ()
    record_class: str | None = None


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


def vault_key(seg: SegmentMeta) -> str:
    """Where a segment lives in the vault: ``segments/<session>/<file name>``."""
    return f"segments/{seg.session_id}/{seg.path.name}"


def checkpoint_key(session_id: str, segment_id: str, n: int) -> str:
    """``checkpoints/<session>/<segment>/<n>.json``."""
    return f"checkpoints/{session_id}/{segment_id}/{n}.json"


class JournalSource:
    """The real journal under ``<home>/journals`` (imports the lead's API lazily)."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._keyring: Any = None

    def _keys(self) -> Any:
        if self._keyring is None:
            from agent.keys import Keyring

            self._keyring = Keyring.load(self.home)
        return self._keyring

    def segments(self) -> list[SegmentMeta]:
        from agent.journal import store

        out: list[SegmentMeta] = []
        for sess in store.list_sessions(self.home):
            urls = tuple(getattr(sess, "urls", ()) or ())
            rclass = getattr(sess, "record_class", None)
            for s in sess.segments:
                out.append(SegmentMeta(
                    path=Path(s.path), session_id=s.session_id, segment_id=s.segment_id,
                    index=s.index, sealed=bool(s.sealed), sealed_utc_ns=s.sealed_utc_ns,
                    size_bytes=int(s.size_bytes), seal_hash_hex=s.seal_hash_hex or "",
                    user=getattr(sess, "user", "") or "", urls=urls, record_class=rclass))
        return out

    def checkpoints(self, path: Path) -> list[CheckpointMeta]:
        try:
            from agent.journal.store import read_checkpoints

            cps = read_checkpoints(path)
            return [CheckpointMeta(n=c.n, tree_size=c.tree_size, key_id=c.key_id, body=c.body,
                                   signature=c.signature,
                                   t_utc_ns=int(getattr(c, "t_utc_ns", 0) or 0))
                    for c in cps]
        except ImportError:
            from agent.journal.reader import SegmentFile

            seg = SegmentFile(path)
            try:
                return [CheckpointMeta(n=r.n, tree_size=int(r.body.get("tree_size", -1)),
                                       key_id=str(r.body.get("key_id", "")),
                                       body=r.body_bytes, signature=r.signature,
                                       t_utc_ns=int(r.body.get("t_utc_ns", 0)))
                        for r in seg.checkpoints()]
            finally:
                seg.close()

    def verify(self, path: Path) -> str | None:
        from agent.seal.verify import verify_paths

        report = verify_paths([path], self._keys(), decrypt=False)
        if report.ok:
            return None
        return str(report.first_failure or "verification failed")

    def check_signature(self, key_id: str, signature: bytes, body: bytes) -> bool | None:
        trust = self._keys().trust
        trust = trust() if callable(trust) else trust
        result: bool | None = trust.verify(key_id, signature, body)
        return result
