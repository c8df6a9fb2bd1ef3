"""The audited search call: parse, search, write ``audit.search``, return the hits.

This is what ``sessiontape search`` (and the viewer, later) calls; nothing else should query
the index for a person, so every search reaches the access audit (FINRA 3110(b)(4) asks for
evidence of supervisory review; examiners ask for an access log of who looked at what).
"""

from __future__ import annotations

from pathlib import Path

from agent.audit import record_access
from agent.clock import Clock
from agent.config import Config
from agent.index.base import Hit
from agent.index.indexer import open_index
from agent.index.query import parse


def search(
    home: Path,
    config: Config,
    query: str,
    *,
    limit: int | None = None,
    note: str | None = None,
    clock: Clock | None = None,
) -> list[Hit]:
    """Hits for ``query`` (newest first); one ``audit.search`` record per call.

    The audit record (the OS account as actor, ``note`` beside it, query, result count) is
    sealed before the hits are returned; if it cannot be written the search fails rather
    than go unrecorded.
    """
    q = parse(query)
    n = int(limit if limit is not None else config.index.default_limit)
    ix = open_index(home, config, readonly=True)
    try:
        hits = ix.search(q, n)
    finally:
        ix.close()
    record_access(
        home,
        config,
        "audit.search",
        {"query": query, "result_count": len(hits), "limit": n},
        note=note,
        clock=clock,
    )
    return hits
