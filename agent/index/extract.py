"""Journal records → index rows: what a compliance search needs from each useful event.

:class:`Extractor` is fed a session's records in seq order and returns
:class:`~agent.index.rows.Row` objects. It does no I/O. The handlers live by the events they
read - :mod:`~agent.index.extract_dom` (rrweb), :mod:`~agent.index.extract_net` (network),
:mod:`~agent.index.extract_page` (page, session, capture) - and the action names they produce
in :mod:`~agent.index.actions`; this module holds the per-session state and the dispatch.

Masked values never become searchable text: a value that masking replaced by a token
(``tok_…``/``esc_…``) is indexed only as that token (with the field it was typed into or sent
as), and ``[redacted]`` is dropped. Consecutive ``rrweb.input`` events on one field are
folded into one row at the last of them (the complete value), so per-keystroke tokens of
partial values do not flood the token index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agent.events import Record
from agent.index import extract_dom, extract_net, extract_page
from agent.index.actions import ACTIONS, CLICK_TYPES, KIND_ACTIONS, actions_for
from agent.index.dom import norm_field, unique_fields
from agent.index.extract_dom import DocState, PendingInput, input_row, node_id
from agent.index.extract_page import CONSOLE_LEVELS
from agent.index.rows import Facts, Limits, Row
from agent.index.text import TOKEN_RE, host_of, path_of, strip_tokens, tokens_in

Handler = Callable[["Extractor", Record], "Row | None"]

_ENDS_INPUT = frozenset(
    {
        "input.submit",
        "page.navigate",
        "rrweb.full_snapshot",
        "page.closed",
        "session.end",
        "input.clipboard",
        "page.dialog",
    }
)


class Extractor:
    """Stateful record → rows extraction for one session (feed records in seq order)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.docs: dict[tuple[str, str], DocState] = {}
        self.page_url: dict[str, str] = {}
        self.facts = Facts()
        self.pending: PendingInput | None = None

    def doc(self, rec: Record) -> tuple[tuple[str, str], DocState]:
        """The (page, frame) key of the record's document and its state (created on first use)."""
        key = (rec.page or "", rec.frame or rec.page or "")
        d = self.docs.get(key)
        if d is None:
            d = self.docs[key] = DocState(href=self.page_url.get(rec.page or "", ""))
        return key, d

    def row(self, rec: Record, action: str, url: str = "", **kw: Any) -> Row:
        """A row for ``rec``: its seq, time, kind and page, with host and path of ``url``."""
        return Row(
            seq=rec.seq,
            t_ns=rec.t_utc_ns,
            kind=rec.kind,
            action=action,
            page=rec.page or "",
            host=host_of(url),
            path=path_of(url),
            url=url,
            **kw,
        )

    def feed(self, rec: Record) -> list[Row]:
        """Rows for one record (plus any folded input row it completes)."""
        out: list[Row] = []
        if self.pending is not None and not self._continues_input(rec):
            out.append(self._flush_input())
        handler = _HANDLERS.get(rec.kind)
        if handler is not None:
            row = handler(self, rec)
            if row is not None:
                out.append(row)
        return out

    def feed_all(self, recs: Iterable[Record]) -> list[Row]:
        """Rows for many records, flushing the last folded input."""
        out: list[Row] = []
        for r in recs:
            out.extend(self.feed(r))
        out.extend(self.flush())
        return out

    def flush(self) -> list[Row]:
        """Rows still pending (the last folded input) at the end of a segment/session."""
        return [self._flush_input()] if self.pending is not None else []

    def _continues_input(self, rec: Record) -> bool:
        """A field run ends at the next user action elsewhere, a submit or a new document."""
        p = self.pending
        assert p is not None
        same_doc = (rec.page or "", rec.frame or rec.page or "") == p.doc
        if rec.kind == "rrweb.input":
            return same_doc and node_id(rec) == p.node
        if rec.kind == "rrweb.mouse_interaction":
            data = rec.payload.get("data") or {}
            return (
                same_doc and node_id(rec) == p.node and int(data.get("type", -1)) not in CLICK_TYPES
            )
        return rec.kind not in _ENDS_INPUT

    def _flush_input(self) -> Row:
        p = self.pending
        assert p is not None
        self.pending = None
        return input_row(self, p)


_HANDLERS: dict[str, Handler] = {
    **extract_dom.HANDLERS,
    **extract_page.HANDLERS,
    **extract_net.HANDLERS,
}


def field_match(stored: str, wanted: str) -> bool:
    """Whether a stored field name answers a ``field:`` query (whole ``_``-separated words)."""
    w = norm_field(wanted)
    return bool(w) and (stored == w or f"_{stored}_".find(f"_{w}_") >= 0)


__all__ = [
    "ACTIONS",
    "CLICK_TYPES",
    "CONSOLE_LEVELS",
    "KIND_ACTIONS",
    "TOKEN_RE",
    "Extractor",
    "Facts",
    "Handler",
    "Limits",
    "Row",
    "actions_for",
    "field_match",
    "host_of",
    "norm_field",
    "strip_tokens",
    "tokens_in",
    "unique_fields",
]
