"""The search index interface: what any backend (SQLite today; PostgreSQL or OpenSearch for a
large firm) must do, and the value types that cross it.

The index is a cache, never the source of truth: everything in it is rebuilt from sealed
journals (locally or from the WORM vault) by :mod:`agent.index.indexer`, which is backend
agnostic. A new backend is one module implementing :class:`SearchIndex`; the query language
(:mod:`agent.index.query`) parses to a backend-neutral :class:`~agent.index.query.Query`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from agent.clock import utc_iso
from agent.errors import UsageError
from agent.index.extract import Facts, Row
from agent.index.query import Query


@dataclass
class SessionMeta:
    """Per-session metadata: who, where, when, retention/hold and shipped/verified state."""

    session_id: str
    user: str = ""
    workstation: str = ""
    agent_id: str = ""
    record_class: str = "default"
    start_ns: int = 0
    end_ns: int = 0
    retain_until: str = ""
    held: bool = False
    shipped: bool = False
    verified: str = "pending"  # "verified" | "failed" (a segment failed) | "pending"
    source: str = "dir"  # "dir" | "vault"
    urls: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    @property
    def duration_ms(self) -> int:
        return max(0, self.end_ns - self.start_ns) // 1_000_000

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration_ms"] = self.duration_ms
        d["start_utc"] = utc_iso(self.start_ns) if self.start_ns else ""
        d["end_utc"] = utc_iso(self.end_ns) if self.end_ns else ""
        return d


@dataclass(frozen=True)
class SegmentRecord:
    """One sealed segment as the index knows it (keyed by its seal hash)."""

    segment_id: str
    session_id: str
    index: int
    seal_hash: str
    events: int = 0
    t_first_ns: int = 0
    t_last_ns: int = 0
    source: str = "dir"


@dataclass(frozen=True)
class Hit:
    """One search result: the exact event (session + seq) the viewer opens at."""

    session_id: str
    seq: int
    t_utc_ns: int
    kind: str
    action: str
    snippet: str
    user: str = ""
    workstation: str = ""
    host: str = ""
    url: str = ""
    selector: str = ""
    target: str = ""
    label: str = ""
    session_start_ns: int = 0

    @property
    def t_utc(self) -> str:
        return utc_iso(self.t_utc_ns)

    @property
    def offset_ms(self) -> int:
        """Milliseconds from the session start (what the table shows)."""
        return max(0, self.t_utc_ns - self.session_start_ns) // 1_000_000

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["t_utc"] = self.t_utc
        d["offset_ms"] = self.offset_ms
        d["open"] = f"sessiontape replay {self.session_id} --seq {self.seq}"
        return d


@dataclass
class IndexStats:
    """What the index holds."""

    backend: str
    location: str
    sessions: int = 0
    segments: int = 0
    events: int = 0
    tokens: int = 0
    size_bytes: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    schema_version: int = 0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bytes_per_session"] = self.size_bytes // self.sessions if self.sessions else 0
        return d


class SearchIndex(Protocol):
    """A search backend. Writes are per sealed segment and atomic; reads are queries."""

    def has_segment(self, seal_hash: str) -> bool:
        """True when a segment with this seal hash was indexed (or recorded as failed)."""
        ...

    def upsert_session(self, meta: SessionMeta) -> None:
        """Create or update a session's metadata (hold, shipped, verified state ...)."""
        ...

    def add_segment(self, seg: SegmentRecord, rows: Sequence[Row], facts: Facts) -> int:
        """Index one verified segment's rows atomically; return the number of rows stored."""
        ...

    def mark_segment_failed(self, seg: SegmentRecord, detail: str) -> None:
        """Record a segment that failed verification: metadata only, no searchable rows."""
        ...

    def remove_session(self, session_id: str) -> int:
        """Drop a session (disposition); return the number of rows removed."""
        ...

    def search(self, query: Query, limit: int = 50) -> list[Hit]:
        """Hits for a parsed query, newest first, at most ``limit``."""
        ...

    def session(self, session_id: str) -> SessionMeta | None:
        """One session's metadata."""
        ...

    def sessions(self) -> list[SessionMeta]:
        """Every session's metadata, oldest first."""
        ...

    def failures(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Segments recorded as failed verification (session_id, segment_id, index, detail)."""
        ...

    def stats(self) -> IndexStats:
        """Counts, size and failed segments."""
        ...

    def clear(self) -> None:
        """Remove everything (before a rebuild)."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


FACETS = ("user", "workstation", "host", "kind")
FACET_MATCH_CAP = 10_000  # text/token facet counts cover at most this many newest matches


@runtime_checkable
class FacetIndex(Protocol):
    """A backend that also counts facets (both built-in backends do; optional for others)."""

    def facet_counts(self, query: Query, facet: str, limit: int = 10) -> list[tuple[str, int]]:
        """The ``limit`` most frequent values of ``facet`` (one of :data:`FACETS`; ``kind``
        counts actions) among what ``query`` selects, most frequent first, ties by value.

        Session-only queries count sessions for ``user``/``workstation`` and events for
        ``host``/``kind``; other queries count events. Counts over text or token matches
        cover at most the newest :data:`FACET_MATCH_CAP` of them.
        """
        ...


def facet_column(facet: str, columns: dict[str, str]) -> str:
    """The column of ``columns`` that ``facet`` counts; a usage error naming the facets for a
    name that is not one."""
    col = columns.get(facet)
    if facet not in FACETS or col is None:
        raise UsageError(f"unknown facet {facet!r} (facets: {', '.join(FACETS)})")
    return col
