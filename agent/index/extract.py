"""Journal records → index rows: what a compliance search needs from each useful event.

:class:`Extractor` is fed a session's records in seq order and returns :class:`Row` objects.
It keeps a :class:`~agent.index.dom.DomMap` per document so clicks carry their target's
visible text and a stable selector, and inputs carry their field label. It does no I/O.

Masked values never become searchable text: a value that masking replaced by a token
(``tok_…``/``esc_…``) is indexed only as that token (with the field it was typed into or sent
as), and ``[redacted]`` is dropped. Consecutive ``rrweb.input`` events on one field are
folded into one row at the last of them (the complete value), so per-keystroke tokens of
partial values do not flood the token index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.events import Record
from agent.index.dom import DomMap, clean, is_masked, norm_field, unique_fields
from agent.index.text import (
    TEXT_MIMES,
    TOKEN_RE,
    host_of,
    parse_body,
    path_of,
    strip_tokens,
    tokens_in,
    url_text,
    url_tokens,
)

_NUMERIC = re.compile(r"[\d\s.,:;%+\-$€£¥()/*#x]*\Z")
CLICK_TYPES = {2: "click", 3: "contextmenu", 4: "dblclick"}
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
CONSOLE_LEVELS = frozenset({"error", "assert", "exception", "warning", "warn"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that bound the index size per event (from the ``[index]`` config section)."""

    keyframe_text_chars: int = 32768
    mutation_text_chars: int = 4096
    body_bytes: int = 4096
    ws_received_bytes: int = 1024
    skip_numeric_text: bool = True


@dataclass(slots=True)
class Row:
    """One indexed event: where it is (session seq/time), what it was, and its search text."""

    seq: int
    t_ns: int
    kind: str
    action: str
    page: str = ""
    host: str = ""
    path: str = ""
    url: str = ""
    method: str = ""
    status: int | None = None
    label: str = ""
    selector: str = ""
    target: str = ""
    text: str = ""
    tokens: list[tuple[str, str]] = field(default_factory=list)  # (token, field)


@dataclass
class Facts:
    """Session-level facts gathered while extracting (URLs and titles visited)."""

    urls: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    def add_url(self, url: str) -> None:
        if url and url not in self.urls and len(self.urls) < 200:
            self.urls.append(url)
        h = host_of(url)
        if h and h not in self.hosts:
            self.hosts.append(h)

    def add_title(self, title: str) -> None:
        if title and title not in self.titles and len(self.titles) < 200:
            self.titles.append(title)


@dataclass
class _Doc:
    dom: DomMap = field(default_factory=DomMap)
    href: str = ""
    seen_text: set[str] = field(default_factory=set)


@dataclass
class _PendingInput:
    doc: tuple[str, str]
    node: int
    rec: Record
    value: str


class Extractor:
    """Stateful record → rows extraction for one session (feed records in seq order)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.docs: dict[tuple[str, str], _Doc] = {}
        self.page_url: dict[str, str] = {}
        self.facts = Facts()
        self._pending: _PendingInput | None = None

    def _doc(self, rec: Record) -> tuple[tuple[str, str], _Doc]:
        key = (rec.page or "", rec.frame or rec.page or "")
        d = self.docs.get(key)
        if d is None:
            d = self.docs[key] = _Doc(href=self.page_url.get(rec.page or "", ""))
        return key, d

    def _row(self, rec: Record, action: str, url: str = "", **kw: Any) -> Row:
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
        if self._pending is not None and not self._continues_input(rec):
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
        return [self._flush_input()] if self._pending is not None else []

    # --- inputs ----------------------------------------------------------------------------
    def _continues_input(self, rec: Record) -> bool:
        """A field run ends at the next user action elsewhere, a submit or a new document."""
        p = self._pending
        assert p is not None
        same_doc = (rec.page or "", rec.frame or rec.page or "") == p.doc
        if rec.kind == "rrweb.input":
            return same_doc and _node_id(rec) == p.node
        if rec.kind == "rrweb.mouse_interaction":
            data = rec.payload.get("data") or {}
            return (
                same_doc
                and _node_id(rec) == p.node
                and int(data.get("type", -1)) not in CLICK_TYPES
            )
        return rec.kind not in _ENDS_INPUT

    def _flush_input(self) -> Row:
        p = self._pending
        assert p is not None
        self._pending = None
        d = self.docs.get(p.doc) or _Doc()
        lbl = d.dom.label(p.node)
        fields = d.dom.field_names(p.node) or [""]
        value = p.value
        toks = [(t, f) for t in TOKEN_RE.findall(value) for f in fields]
        plain = "" if is_masked(value) else strip_tokens(value)
        text = f"typed {lbl}: {plain}" if plain else f"typed {lbl}"
        return self._row(
            p.rec,
            "input",
            d.href,
            label=lbl,
            selector=d.dom.selector(p.node),
            target=d.dom.tag(p.node),
            text=text.strip(),
            tokens=toks,
        )


def _node_id(rec: Record) -> int | None:
    data = rec.payload.get("data")
    if isinstance(data, dict) and isinstance(data.get("id"), int):
        return int(data["id"])
    return None


# --- handlers: one per kind -------------------------------------------------------------------
def _full_snapshot(x: Extractor, rec: Record) -> Row | None:
    _, d = x._doc(rec)
    node = (rec.payload.get("data") or {}).get("node")
    if not isinstance(node, dict):
        return None
    d.dom.load_snapshot(node)
    strings = d.dom.visible_strings()
    d.seen_text = set(strings)
    keep = [s for s in strings if not (x.limits.skip_numeric_text and _NUMERIC.match(s))]
    text = strip_tokens(" · ".join(keep))[: x.limits.keyframe_text_chars]
    toks: list[tuple[str, str]] = []
    for nid, n in d.dom.nodes.items():
        v = n.attrs.get("value", "")
        if n.tag in ("input", "select", "textarea") and TOKEN_RE.search(v):
            toks.extend((t, f) for t in TOKEN_RE.findall(v) for f in d.dom.field_names(nid))
    if not text and not toks:
        return None
    return x._row(rec, "keyframe", d.href, text=text, tokens=toks)


def _mutation(x: Extractor, rec: Record) -> Row | None:
    _, d = x._doc(rec)
    data = rec.payload.get("data")
    if not isinstance(data, dict):
        return None
    changed = d.dom.apply_mutation(data)
    new: list[str] = []
    size = 0
    skip_numeric = x.limits.skip_numeric_text
    for nid in changed:
        n = d.dom.nodes.get(nid)
        if n is None or (skip_numeric and _NUMERIC.match(n.text)):
            continue
        t = clean(n.text)
        if not t or t in d.seen_text:
            continue
        if len(d.seen_text) < 100_000:
            d.seen_text.add(t)
        new.append(t)
        size += len(t)
        if size > x.limits.mutation_text_chars:
            break
    text = strip_tokens(" · ".join(new))[: x.limits.mutation_text_chars]
    toks = [(t, "") for s in new for t in TOKEN_RE.findall(s)]
    if not text and not toks:
        return None
    return x._row(rec, "text", d.href, text=text, tokens=toks)


def _meta(x: Extractor, rec: Record) -> Row | None:
    _, d = x._doc(rec)
    href = str((rec.payload.get("data") or {}).get("href") or "")
    if href:
        d.href = href
    return None


def _click(x: Extractor, rec: Record) -> Row | None:
    data = rec.payload.get("data") or {}
    action = CLICK_TYPES.get(int(data.get("type", -1)))
    nid = data.get("id")
    if action is None or not isinstance(nid, int):
        return None
    _, d = x._doc(rec)
    target = d.dom.target_text(nid)
    tag = d.dom.tag(nid)
    lbl = d.dom.label(nid) if tag in ("input", "select", "textarea") else ""
    sel = d.dom.selector(nid)
    text = f"{action} {target or lbl or sel}".strip()
    return x._row(rec, action, d.href, label=lbl, selector=sel, target=target, text=text)


def _input(x: Extractor, rec: Record) -> Row | None:
    data = rec.payload.get("data") or {}
    nid = data.get("id")
    if not isinstance(nid, int):
        return None
    key, _ = x._doc(rec)
    value = data.get("text")
    if not isinstance(value, str):
        value = "checked" if data.get("isChecked") else "unchecked"
    x._pending = _PendingInput(key, nid, rec, value)
    return None


def _submit(x: Extractor, rec: Record) -> Row | None:
    _, d = x._doc(rec)
    p = rec.payload
    sel = str(p.get("selector") or "")
    act = str(p.get("action") or "")
    return x._row(
        rec,
        "submit",
        d.href,
        selector=sel,
        method=str(p.get("method") or "").upper(),
        text=f"submit {sel} {url_text(act)}".strip(),
    )


def _navigate(x: Extractor, rec: Record) -> Row | None:
    url = str(rec.payload.get("url") or "")
    if not url or url.startswith("about:"):
        return None
    if rec.payload.get("main_frame", True) and rec.page:
        x.page_url[rec.page] = url
    x.facts.add_url(url)
    return x._row(rec, "navigate", url, text=url_text(url), tokens=url_tokens(url))


def _title(x: Extractor, rec: Record) -> Row | None:
    title = clean(str(rec.payload.get("title") or ""))
    url = str(rec.payload.get("url") or x.page_url.get(rec.page or "", ""))
    if not title or title == host_of(url) or title.startswith(host_of(url) + ":"):
        return None
    x.facts.add_title(title)
    return x._row(rec, "title", url, text=strip_tokens(title))


def _request(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    url = str(p.get("url") or "")
    method = str(p.get("method") or "").upper()
    text, toks = "", url_tokens(url)
    body = p.get("post_data")
    if isinstance(body, str) and body:
        text, btoks = parse_body(body, x.limits.body_bytes)
        toks += btoks
    return x._row(
        rec,
        "request",
        url,
        method=method,
        text=f"{method} {url_text(url)} {text}".strip(),
        tokens=toks,
    )


def _response(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    url = str(p.get("url") or "")
    status = p.get("status")
    text, toks = "", url_tokens(url)
    body, mime = p.get("body"), str(p.get("mime") or "")
    if (
        isinstance(body, str)
        and body
        and p.get("body_encoding", "text") == "text"
        and any(m in mime for m in TEXT_MIMES)
        and len(body) <= x.limits.body_bytes
    ):
        text, btoks = parse_body(body, x.limits.body_bytes)
        toks += btoks
    st = int(status) if isinstance(status, int) else None
    return x._row(
        rec,
        "response",
        url,
        status=st,
        text=f"{st if st is not None else ''} {url_text(url)} {text}".strip(),
        tokens=toks,
    )


def _ws_frame(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    data = p.get("data")
    direction = str(p.get("direction") or "")
    if not isinstance(data, str) or not data:
        return None
    sent = direction in ("sent", "out", "send")
    if not sent and len(data) > x.limits.ws_received_bytes:
        return None  # market-data style firehose: the journal keeps it, the index does not
    text, toks = parse_body(data, x.limits.body_bytes)
    url = x.page_url.get(rec.page or "", "")
    return x._row(
        rec,
        "ws_sent" if sent else "ws_received",
        url,
        text=f"ws {'sent' if sent else 'received'} {text}",
        tokens=toks,
    )


def _ws_open(x: Extractor, rec: Record) -> Row | None:
    url = str(rec.payload.get("url") or "")
    return x._row(rec, "ws_open", url, text=f"websocket {url_text(url)}", tokens=url_tokens(url))


def _console(x: Extractor, rec: Record) -> Row | None:
    level = str(rec.payload.get("level") or "")
    if level not in CONSOLE_LEVELS:
        return None
    url = x.page_url.get(rec.page or "", "")
    msg = str(rec.payload.get("text") or "")
    return x._row(
        rec,
        "console",
        url,
        target=level,
        text=f"console {level} {strip_tokens(msg)[:2000]}",
        tokens=[(t, "") for t in TOKEN_RE.findall(msg)],
    )


def _dialog(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    if p.get("phase") == "closed":
        return None
    url = str(p.get("url") or "")
    return x._row(
        rec,
        "dialog",
        url,
        target=str(p.get("type") or ""),
        text=f"dialog {p.get('type', '')} {strip_tokens(str(p.get('message') or ''))}",
    )


def _download(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    url = str(p.get("url") or "")
    return x._row(
        rec,
        "download",
        url,
        target=str(p.get("name") or ""),
        text=f"download {p.get('name', '')} {url_text(url)}",
    )


def _simple(action: str, fields: tuple[str, ...]) -> Any:
    def handler(x: Extractor, rec: Record) -> Row | None:
        url = x.page_url.get(rec.page or "", "")
        vals = " ".join(f"{k} {rec.payload[k]}" for k in fields if rec.payload.get(k) is not None)
        return x._row(rec, action, url, text=strip_tokens(f"{rec.kind} {vals}")[:2000])

    return handler


def _session_start(x: Extractor, rec: Record) -> Row | None:
    p = rec.payload
    return x._row(
        rec, "session", text=f"session start {p.get('user', '')} {p.get('workstation', '')}".strip()
    )


_HANDLERS: dict[str, Any] = {
    "rrweb.full_snapshot": _full_snapshot,
    "rrweb.mutation": _mutation,
    "rrweb.meta": _meta,
    "rrweb.mouse_interaction": _click,
    "rrweb.input": _input,
    "input.submit": _submit,
    "page.navigate": _navigate,
    "page.title": _title,
    "net.request": _request,
    "net.response": _response,
    "net.ws_frame": _ws_frame,
    "net.ws_open": _ws_open,
    "page.console": _console,
    "page.dialog": _dialog,
    "page.download": _download,
    "session.start": _session_start,
    "session.end": _simple("session", ("reason",)),
    "capture.gap": _simple("gap", ("cause", "silence_ms", "start", "end")),
    "capture.tamper": _simple("tamper", ("what", "detail", "reason")),
    "capture.degraded": _simple("degraded", ("reason", "what")),
    "page.crash": _simple("crash", ("reason", "url")),
    "net.failed": _simple("failed", ("url", "error", "error_text")),
    "mask.failed": _simple("mask_failed", ("rule", "field", "error")),
    "clock.jump": _simple("clock", ("delta_ns",)),
}

# Which actions each journal kind can produce (``kind:`` filters resolve to actions).
KIND_ACTIONS: dict[str, tuple[str, ...]] = {
    "rrweb.full_snapshot": ("keyframe",),
    "rrweb.mutation": ("text",),
    "rrweb.mouse_interaction": ("click", "dblclick", "contextmenu"),
    "rrweb.input": ("input",),
    "input.submit": ("submit",),
    "page.navigate": ("navigate",),
    "page.title": ("title",),
    "net.request": ("request",),
    "net.response": ("response",),
    "net.ws_frame": ("ws_sent", "ws_received"),
    "net.ws_open": ("ws_open",),
    "page.console": ("console",),
    "page.dialog": ("dialog",),
    "page.download": ("download",),
    "session.start": ("session",),
    "session.end": ("session",),
    "capture.gap": ("gap",),
    "capture.tamper": ("tamper",),
    "capture.degraded": ("degraded",),
    "page.crash": ("crash",),
    "net.failed": ("failed",),
    "mask.failed": ("mask_failed",),
    "clock.jump": ("clock",),
}

ACTIONS = frozenset(
    {
        "keyframe",
        "text",
        "click",
        "contextmenu",
        "dblclick",
        "input",
        "submit",
        "navigate",
        "title",
        "request",
        "response",
        "ws_sent",
        "ws_received",
        "ws_open",
        "console",
        "dialog",
        "download",
        "session",
        "gap",
        "tamper",
        "degraded",
        "crash",
        "failed",
        "mask_failed",
        "clock",
    }
)


def field_match(stored: str, wanted: str) -> bool:
    """Whether a stored field name answers a ``field:`` query (whole ``_``-separated words)."""
    w = norm_field(wanted)
    return bool(w) and (stored == w or f"_{stored}_".find(f"_{w}_") >= 0)


__all__ = [
    "ACTIONS",
    "Extractor",
    "Facts",
    "Limits",
    "Row",
    "TOKEN_RE",
    "field_match",
    "host_of",
    "norm_field",
    "strip_tokens",
    "tokens_in",
    "unique_fields",
]
