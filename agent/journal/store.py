"""What is in a state directory: sessions and their segments, read from genesis and seal rows.

Listing never decrypts: everything here comes from the unencrypted genesis, chunk headers and
seal. It is the one place other stages (ship, index, replay) ask "which sessions exist".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.canonical import sha256_hex
from agent.errors import InputError, UsageError
from agent.seal import format as fmt
from agent.seal.segment_file import CheckpointRow, SegmentFile


@dataclass
class SegmentInfo:
    """Metadata of one segment file."""

    path: Path
    segment_id: str
    session_id: str
    index: int
    sealed: bool
    seal_reason: str
    seal_hash_hex: str
    sealed_utc_ns: int
    event_count: int
    t_first_utc_ns: int
    t_last_utc_ns: int
    size_bytes: int
    agent_id: str
    agent_counter: int
    user: str
    workstation: str
    record_class: str
    kinds: dict[str, int] = field(default_factory=dict)
    error: str = ""
    # The seal's retention decision (seal version 2); "" for version-1 or unsealed segments.
    retention_class: str = ""
    retention_rule: str = ""
    # The genesis link to the session this one follows (genesis version 3), or None.
    previous_session: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["path"] = str(self.path)
        return d


@dataclass
class SessionInfo:
    """A recording session: its segments in order."""

    session_id: str
    user: str
    workstation: str
    record_class: str  # the retention class the newest seal records (else the genesis')
    segments: list[SegmentInfo]
    retention_rule: str = ""  # the rule that chose it ("" when no seal records one)
    previous_session: dict[str, str] | None = None  # the session this one follows, if linked

    @property
    def start_utc_ns(self) -> int:
        return min((s.t_first_utc_ns for s in self.segments if s.t_first_utc_ns), default=0)

    @property
    def end_utc_ns(self) -> int:
        return max((s.t_last_utc_ns for s in self.segments), default=0)

    @property
    def sealed(self) -> bool:
        return bool(self.segments) and all(s.sealed for s in self.segments)

    @property
    def damaged(self) -> bool:
        """A segment file is unreadable (truncated, damaged, or not a segment).

        Missing segments are not counted here: local retention deletes shipped segments."""
        return any(s.error for s in self.segments)

    @property
    def closed(self) -> bool:
        """Ended normally (last segment sealed on close) and nothing is damaged."""
        return (
            bool(self.segments) and not self.damaged and self.segments[-1].seal_reason == "closed"
        )

    @property
    def event_count(self) -> int:
        return sum(s.event_count for s in self.segments)

    @property
    def size_bytes(self) -> int:
        return sum(s.size_bytes for s in self.segments)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "user": self.user,
            "workstation": self.workstation,
            "record_class": self.record_class,
            "start_utc_ns": self.start_utc_ns,
            "end_utc_ns": self.end_utc_ns,
            "sealed": self.sealed,
            "closed": self.closed,
            "damaged": self.damaged,
            "events": self.event_count,
            "size_bytes": self.size_bytes,
            "previous_session": self.previous_session,
            "segments": [s.as_dict() for s in self.segments],
        }


def _retention(seal_body: dict[str, Any]) -> dict[str, str]:
    """``retention_class`` / ``retention_rule`` from a seal body ("" when it has none)."""
    r = seal_body.get("retention")
    if not isinstance(r, dict):
        return {"retention_class": "", "retention_rule": ""}
    return {"retention_class": str(r.get("class", "")), "retention_rule": str(r.get("rule", ""))}


def segment_info(path: Path, *, counts: bool = True) -> SegmentInfo:
    """Read one segment's metadata (raises ``InputError`` for unreadable files).

    An open segment's event count, first and last times and kinds come from every chunk
    header; ``counts=False`` leaves them 0 and empty instead (the ship source asks every few
    seconds and needs none of them: reading a day's live segment each time costs more CPU
    than recording it).
    """
    seg = SegmentFile(path)
    try:
        g = seg.genesis
        seal = seg.seal()
        count, t0, t1, kinds = 0, 0, 0, {}
        if seal is not None:
            b = seal.body
            count = int(b.get("event_count", 0))
            t0, t1 = int(b.get("t_first_utc_ns", 0)), int(b.get("t_last_utc_ns", 0))
            kinds = dict(b.get("kinds", {}))
        elif counts:
            headers = seg.chunk_headers()
            count = sum(int(h.get("n", 0)) for h in headers)
            t0 = int(headers[0].get("t0", 0)) if headers else 0
            t1 = int(headers[-1].get("t1", 0)) if headers else 0
            for h in headers:
                for k, n in h.get("kinds", {}).items():
                    kinds[k] = kinds.get(k, 0) + int(n)
        return SegmentInfo(
            path=path,
            segment_id=seg.segment_id,
            session_id=seg.session_id,
            index=int(g.get("segment_index", -1)),
            sealed=seal is not None,
            seal_reason=str(seal.body.get("reason", "")) if seal else "",
            seal_hash_hex=sha256_hex(seal.body_bytes) if seal else "",
            sealed_utc_ns=int(seal.body.get("sealed_utc_ns", 0)) if seal else 0,
            event_count=count,
            t_first_utc_ns=t0,
            t_last_utc_ns=t1,
            size_bytes=path.stat().st_size,
            agent_id=str(g.get("agent_id", "")),
            agent_counter=int(g.get("agent_counter", -1)),
            user=str(g.get("user", "")),
            workstation=str(g.get("workstation", "")),
            record_class=str(g.get("record_class", "default")),
            kinds=kinds,
            previous_session=seg.previous_session,
            **_retention(seal.body if seal else {}),
        )
    finally:
        seg.close()


def session_dirs(home: Path) -> list[Path]:
    """Session directories under ``<home>/journals``."""
    root = home / "journals"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir())


def load_session(sdir: Path) -> SessionInfo:
    """One session directory; unreadable segments are listed with ``error`` set."""
    segs: list[SegmentInfo] = []
    for p in sorted(sdir.glob(f"*{fmt.SEGMENT_SUFFIX}")):
        try:
            segs.append(segment_info(p))
        except InputError as exc:
            segs.append(
                SegmentInfo(
                    p,
                    "",
                    sdir.name,
                    -1,
                    False,
                    "",
                    "",
                    0,
                    0,
                    0,
                    0,
                    p.stat().st_size,
                    "",
                    -1,
                    "",
                    "",
                    "",
                    error=exc.message,
                )
            )
    first = next((s for s in segs if not s.error), None)
    # The class the newest seal records is the session's decision so far (rules only add
    # matches); a version-1 seal records none, and then the genesis' explicit class counts.
    decided = next((s for s in reversed(segs) if s.retention_class), None)
    return SessionInfo(
        session_id=sdir.name,
        user=first.user if first else "",
        workstation=first.workstation if first else "",
        record_class=decided.retention_class
        if decided
        else (first.record_class if first else "default"),
        segments=segs,
        retention_rule=decided.retention_rule if decided else "",
        previous_session=first.previous_session if first else None,
    )


def list_sessions(home: Path) -> list[SessionInfo]:
    """Every session in the state directory, oldest first."""
    out = [load_session(d) for d in session_dirs(home)]
    return [s for s in out if s.segments]


def find_session(home: Path, session_id: str) -> SessionInfo:
    """A session by id or unique id prefix; ``UsageError`` when unknown or ambiguous.

    A session with no segments in the journals (never there, or removed locally after
    shipping) is looked up among the sessions restored from a vault
    (``<home>/restore/<session>``); a session partly removed locally is read from its restored
    copy when that holds all of it."""
    sdir = home / "journals" / session_id
    if sdir.is_dir():
        s = load_session(sdir)
        if s.segments:
            return _whole(home, s)
    matches = [d for d in session_dirs(home) if d.name.startswith(session_id)]
    if not any(any(d.glob(f"*{fmt.SEGMENT_SUFFIX}")) for d in matches):
        matches = _restored(home, session_id) or matches
    if len(matches) == 1:
        return _whole(home, load_session(matches[0]))
    if not matches:
        raise UsageError(f"unknown session {session_id!r} in {home / 'journals'}")
    raise UsageError(f"session prefix {session_id!r} is ambiguous ({len(matches)} sessions)")


_READ_RESTORED: set[str] = set()


def read_restored(session_id: str) -> None:
    """Read ``session_id`` from its restored copy for the rest of this process (the user
    asked for the vault's copy with ``--from-vault``), even where the journals hold it."""
    _READ_RESTORED.add(session_id)


def forget_read_restored() -> None:
    """Undo every :func:`read_restored` (a fresh in-process CLI run starts without them)."""
    _READ_RESTORED.clear()


def _whole(home: Path, local: SessionInfo) -> SessionInfo:
    """``local``, or its restored copy when that was asked for (:func:`read_restored`) or
    holds every local segment and more (local retention removed the session's older segments
    after the vault confirmed them)."""
    cached = home / "restore" / local.session_id
    if not cached.is_dir() or local.segments[0].path.parent == cached:
        return local
    have = {s.path.name for s in local.segments}
    restored = {p.name for p in cached.glob(f"*{fmt.SEGMENT_SUFFIX}")}
    wanted = local.session_id in _READ_RESTORED and bool(restored)
    return load_session(cached) if wanted or have < restored else local


def _restored(home: Path, session_id: str) -> list[Path]:
    """Sessions restored from a vault whose id starts with ``session_id``."""
    root = home / "restore"
    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if d.is_dir() and d.name.startswith(session_id))


def read_checkpoints(path: Path) -> list[CheckpointRow]:
    """The signed checkpoints of a segment (for shipping them during a session)."""
    seg = SegmentFile(path)
    try:
        return seg.checkpoints()
    finally:
        seg.close()
