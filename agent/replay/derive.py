"""Native export formats derived from journal records: events JSONL, HAR 1.2, actions CSV.

Every function here is a pure, deterministic function of the records (no export time, no
host name), so ``sessiontape verify BUNDLE`` can re-derive the bytes from the sealed segments
and compare them byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from agent import __version__
from agent.actions.derive import ActionDeriver
from agent.actions.model import Action
from agent.actions.text import requests_summary
from agent.clock import utc_iso
from agent.events import Record

HAR_VERSION = "1.2"


def event_line(session_id: str, r: Record) -> str:
    """One JSONL line (sorted keys, no spaces) for a record."""
    return json.dumps(
        {"session": session_id, **r.as_dict()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def events_jsonl(items: Iterable[tuple[str, Record]]) -> bytes:
    """``events.jsonl``: one record per line, in session then seq order."""
    return "".join(event_line(s, r) + "\n" for s, r in items).encode("utf-8")


def _headers(h: Any) -> list[dict[str, str]]:
    if isinstance(h, dict):
        return [{"name": str(k), "value": str(v)} for k, v in sorted(h.items())]
    if isinstance(h, list):
        return [
            {"name": str(x.get("name", "")), "value": str(x.get("value", ""))}
            for x in h
            if isinstance(x, dict)
        ]
    return []


def _query(url: str) -> list[dict[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    return [
        {"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)
    ]


def _pages_and_requests(
    items: Iterable[tuple[str, Record]],
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """HAR pages (first sight of each page) and, in request order, each request's records."""
    pages: dict[str, dict[str, Any]] = {}
    reqs: dict[tuple[str, str], dict[str, Any]] = {}
    order: list[tuple[str, str]] = []
    for sid, r in items:
        p = r.payload
        if (
            r.page
            and r.kind in ("page.created", "page.navigate", "page.title")
            and f"{sid}:{r.page}" not in pages
        ):
            pages[f"{sid}:{r.page}"] = {
                "startedDateTime": utc_iso(r.t_utc_ns),
                "id": f"{sid}:{r.page}",
                "title": str(p.get("url") or p.get("title") or r.page),
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            }
        if r.kind not in ("net.request", "net.response", "net.failed") or "request_id" not in p:
            continue
        key = (sid, str(p["request_id"]))
        if r.kind == "net.request":
            if key not in reqs:
                order.append(key)
            reqs[key] = {"session": sid, "req": r, "resp": None, "failed": None}
        elif key in reqs:
            reqs[key]["resp" if r.kind == "net.response" else "failed"] = r
    return pages, [reqs[key] for key in order]


def _har_request(p: dict[str, Any]) -> dict[str, Any]:
    """The HAR ``request`` of a ``net.request`` payload."""
    request: dict[str, Any] = {
        "method": str(p.get("method", "GET")),
        "url": str(p.get("url", "")),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(p.get("headers")),
        "queryString": _query(str(p.get("url", ""))),
        "headersSize": -1,
        "bodySize": int(p.get("post_data_size", 0) or 0),
    }
    if p.get("post_data") is not None:
        hdrs = (
            {k.lower(): v for k, v in (p.get("headers") or {}).items()}
            if isinstance(p.get("headers"), dict)
            else {}
        )
        request["postData"] = {
            "mimeType": str(hdrs.get("content-type", "")),
            "text": str(p.get("post_data")),
        }
    return request


def _har_response(q: dict[str, Any]) -> dict[str, Any]:
    """The HAR ``response`` of a ``net.response`` payload."""
    content: dict[str, Any] = {
        "size": int(q.get("body_size", 0) or 0),
        "mimeType": str(q.get("mime", "")),
    }
    if isinstance(q.get("body"), str):
        content["text"] = q["body"]
        if q.get("body_encoding") == "base64":
            content["encoding"] = "base64"
    if q.get("body_sha256"):
        content["_sha256"] = q["body_sha256"]
    hdrs_r = (
        {str(k).lower(): str(v) for k, v in (q.get("headers") or {}).items()}
        if isinstance(q.get("headers"), dict)
        else {}
    )
    return {
        "status": int(q.get("status", 0)),
        "statusText": str(q.get("status_text", "")),
        "httpVersion": str(q.get("protocol", "") or "HTTP/1.1").upper(),
        "cookies": [],
        "headers": _headers(q.get("headers")),
        "content": content,
        "redirectURL": hdrs_r.get("location", ""),
        "headersSize": -1,
        "bodySize": int(q.get("body_size", -1) if q.get("body_size") is not None else -1),
    }


def _har_no_response(f: Record | None) -> dict[str, Any]:
    """The HAR ``response`` of a request that failed (or never got an answer)."""
    return {
        "status": 0,
        "statusText": "",
        "httpVersion": "",
        "cookies": [],
        "headers": [],
        "content": {"size": 0, "mimeType": ""},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": -1,
        "_error": str(f.payload.get("error", "")) if f else "no response",
    }


def _total_ms(rq: Record, rs: Record | None) -> float:
    """Request duration in ms: the recorded one, else response minus request time."""
    if rs is None:
        return 0.0
    dur = rs.payload.get("duration_us")
    total_ms = (
        round(int(dur) / 1000, 3)
        if isinstance(dur, int)
        else round((rs.t_utc_ns - rq.t_utc_ns) / 1e6, 3)
    )
    return max(total_ms, 0.0)


def _har_entry(e: dict[str, Any], pages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One HAR entry from a request's records (``pageref`` left out when no page matched)."""
    sid: str = e["session"]
    rq: Record = e["req"]
    rs: Record | None = e["resp"]
    p = rq.payload
    total_ms = _total_ms(rq, rs)
    cause = p.get("cause") if isinstance(p.get("cause"), dict) else None
    entry: dict[str, Any] = {
        "pageref": f"{sid}:{rq.page}",
        "startedDateTime": utc_iso(rq.t_utc_ns),
        "time": total_ms,
        "request": _har_request(p),
        "response": _har_response(rs.payload) if rs is not None else _har_no_response(e["failed"]),
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "ssl": -1,
            "send": 0,
            "wait": total_ms,
            "receive": 0,
        },
        "_session": sid,
        "_seq": rq.seq,
        "_response_seq": rs.seq if rs is not None else None,
        "_cause_action": cause.get("action_id") if cause else None,
    }
    if entry["pageref"] not in pages:
        del entry["pageref"]
    return entry


def har(items: Iterable[tuple[str, Record]]) -> bytes:
    """``network.har``: HAR 1.2 (one page per recorded page, one entry per request)."""
    pages, requests = _pages_and_requests(items)
    doc = {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "sessiontape", "version": __version__},
            "pages": list(pages.values()),
            "entries": [_har_entry(e, pages) for e in requests],
        }
    }
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


CSV_FIELDS = [
    "session",
    "seq",
    "seq_first",
    "t_utc",
    "verb",
    "text",
    "target_name",
    "target_role",
    "form",
    "value",
    "masked",
    "page",
    "url",
    "requests",
]


def _action_row(sid: str, a: Action) -> list[Any]:
    t = a.target
    value = "" if a.value is None else a.value
    return [sid, a.seq, a.seq_first, utc_iso(a.t_utc_ns), a.verb, a.text, t.name, t.role,
            t.form, value, a.masked, a.page or "", a.url, requests_summary(a)]  # fmt: skip


def actions_csv(items: Iterable[tuple[str, Record]]) -> bytes:
    """``actions.csv``: one row per action (the derivation of :mod:`agent.actions`), per
    session in the order they happened; keystrokes are in ``events.jsonl``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    sid: str | None = None
    deriver = ActionDeriver()
    for s, r in items:
        if s != sid:
            if sid is not None:
                deriver.close()
                w.writerows(_action_row(sid, a) for a in deriver.actions())
            sid, deriver = s, ActionDeriver()
        deriver.feed(r)
    if sid is not None:
        deriver.close()
        w.writerows(_action_row(sid, a) for a in deriver.actions())
    return buf.getvalue().encode("utf-8")
