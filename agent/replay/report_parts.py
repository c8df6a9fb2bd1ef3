"""The sections of ``report.html`` about one session, as HTML fragments (escaped here, once)."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

from agent.actions.model import Action, CausedRequest
from agent.clock import utc_iso
from agent.replay.orders import Order
from agent.replay.report_view import SessionView

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:left;vertical-align:top;font-size:12px}th{background:#f0f0f0}.ok{color:#1d7a35}
.bad{color:#b3261e;font-weight:600}img.thumb{width:240px;border:1px solid #999;display:block}
.noimg{width:240px;padding:8px;border:1px dashed #b3261e;color:#b3261e;font-size:11px}
.gap td{background:#fde2e1}tr.order td{background:#eef6ff}.summary{font-size:15px;
background:#f7f7f7;border-left:4px solid #345;padding:10px 14px}pre{white-space:pre-wrap;
background:#f4f4f4;padding:8px}
td{overflow-wrap:anywhere}
@media print{@page{size:A4;margin:12mm}body{margin:0;max-width:none;font-size:11px}
.noprint{display:none}table{width:100%;table-layout:fixed}td,th{font-size:9px}
table.narr col.t{width:74px}table.narr col.r{width:150px}table.narr col.p{width:168px}
img.thumb,.noimg{width:160px}tr,img,.noimg{break-inside:avoid}
thead{display:table-header-group}h2,h3{break-after:avoid}}"""


def e(x: Any) -> str:
    """HTML-escaped text (``None`` is empty)."""
    return html.escape("" if x is None else str(x))


def _hms(ns: int) -> str:
    return utc_iso(ns)[11:23] if ns else ""


def _duration(ns: int) -> str:
    s = max(0, ns) // 1_000_000_000
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h} h {m} min {sec} s" if h else f"{m} min {sec} s" if m else f"{sec} s"


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def summary_sentence(v: SessionView) -> str:
    """Who, where, when, which sites, how many actions, orders and downloads, integrity."""
    m = v.meta
    start, end = int(m["start_utc_ns"]), int(m["end_utc_ns"])
    orders = "; ".join(
        f"{o.fields.get('side', '?')} {o.fields.get('quantity', '?')} "
        f"{o.fields.get('symbol', '?')} at {o.fields.get('price', '?')}"
        for o in v.orders
    )
    dl = ", ".join(v.downloads)
    return (
        f"On {utc_iso(start)[:10]}, from {_hms(start)} to {_hms(end)} UTC "
        f"({_duration(end - start)}), user {m.get('user') or '(unknown)'} on workstation "
        f"{m.get('workstation') or '(unknown)'} used {', '.join(v.origins) or 'no web site'} "
        f"(session {m['session_id']}). The recording shows {_n(len(v.actions), 'action')}, "
        f"{_n(len(v.orders), 'order')}{f' ({orders})' if orders else ''} and "
        f"{_n(len(v.downloads), 'download')}{f' ({dl})' if dl else ''}. "
        f"Integrity: {v.integrity['status']}"
        + (f" ({v.integrity['first_failure']})" if v.integrity.get("first_failure") else "")
        + "."
    )


def _request_text(q: CausedRequest) -> str:
    path = urlsplit(q.url).path or q.url
    if q.ws:
        return f"WebSocket message sent on {path}"
    outcome = f"failed ({q.failed})" if q.failed else str(q.status or "no response")
    return f"{q.method} {path} → {outcome}"


def _thumb_cell(v: SessionView, seq: int) -> str:
    """The picture of the page at ``seq``, a named placeholder, or nothing."""
    out = v.thumbs.get(str(seq))
    if out is None:
        return "<td></td>"
    if "file" in out:
        return (
            f"<td><img class='thumb' src='{e(out['file'])}' "
            f"alt='the page at seq {seq}, drawn from the recording'></td>"
        )
    return f"<td><div class='noimg'>no picture: {e(out.get('error'))}</div></td>"


def _sent(v: SessionView, seq: int) -> str:
    """`` (sent: ssn 'tok_…', pin '[redacted]')`` for a request with a form or JSON body."""
    f = v.sent.get(seq)
    if not f:
        return ""
    shown = [f"{k} '{val if len(val) <= 60 else val[:59] + '…'}'" for k, val in list(f.items())[:8]]
    more = f", … {len(f) - 8} more" if len(f) > 8 else ""
    return " (sent: " + ", ".join(shown) + more + ")"


def _action_row(v: SessionView, a: Action) -> str:
    # what the action sent first (POST, WebSocket messages), then what it loaded
    shown = sorted(a.requests, key=lambda q: (q.method == "GET" and not q.ws, q.seq))
    reqs = "<br>".join(e(_request_text(q) + _sent(v, q.seq)) for q in shown[:6])
    if len(shown) > 6:
        reqs += f"<br>… {len(shown) - 6} more"
    return (
        f"<tr data-seq='{a.seq}' data-verb='{e(a.verb)}'><td>{_hms(a.t_utc_ns)}</td>"
        f"<td>{e(a.text)}</td><td>{reqs}</td>{_thumb_cell(v, a.seq)}</tr>"
    )


def _order_row(v: SessionView, o: Order) -> str:
    status = f" → {o.status}" if o.status else ""
    return (
        f"<tr class='order' data-seq='{o.seq}' data-verb='order'><td>{_hms(o.t_utc_ns)}</td>"
        f"<td><b>Order</b>: {e(o.text())}</td><td>{e(o.channel + status)}</td>"
        f"{_thumb_cell(v, o.seq)}</tr>"
    )


def narrative_part(v: SessionView) -> list[str]:
    """What the person did, in order, with each order as its own row."""
    out = ["<h3>What happened</h3>"]
    out.append(
        "<p>Screenshots were not enabled for this recording (no <code>page.screenshot</code> "
        "events: nothing was taken from the live screen); the pictures below are drawn from "
        "the recording itself.</p>"
        if not v.meta.get("screenshots")
        else "<p>The pictures below are drawn from the recording itself; the live-screen "
        "screenshots it also holds are in the offline viewer.</p>"
    )
    out.append(
        "<table class='narr'><colgroup><col class='t'><col><col class='r'><col class='p'>"
        "</colgroup><thead><tr><th>time (UTC)</th><th>what</th><th>requests caused</th>"
        "<th>page at that moment</th></tr></thead>"
    )
    rows: list[tuple[int, str]] = [(a.seq, _action_row(v, a)) for a in v.actions]
    rows += [(o.seq, _order_row(v, o)) for o in v.orders]
    out += [r for _, r in sorted(rows, key=lambda x: x[0])]  # journal order
    out.append("</table>")
    return out


def network_part(v: SessionView) -> list[str]:
    """One row per request or WebSocket, with the action that caused it."""
    texts = {a.seq: a.text for a in v.actions}
    by_id = {q.seq: texts.get(a.seq, "") for a in v.actions for q in a.requests}
    out = [
        "<h3>Network</h3><table><thead><tr><th>time (UTC)</th><th>method</th><th>url</th>"
        "<th>status</th><th>caused by</th></tr></thead>"
    ]
    for n in v.network:
        status = n.get("failed") and "failed" or n.get("status", "")
        if n.get("method") == "WS":
            status = f"{n.get('frames', 0)} frames"
        out.append(
            f"<tr><td>{_hms(int(n.get('t_utc_ns') or 0))}</td><td>{e(n.get('method'))}</td>"
            f"<td>{e(n.get('url'))}</td><td>{e(status)}</td>"
            f"<td>{e(by_id.get(int(n['seq']), ''))}</td></tr>"
        )
    out.append("</table>")
    return out


def masking_part(v: SessionView) -> list[str]:
    """Gaps in the record, and what masking did (counts by kind of value, never values)."""
    out = ["<h3>Gaps and masking</h3>"]
    if v.gaps:
        out.append("<table><tr><th>time (UTC)</th><th>what</th></tr>")
        out += [
            f"<tr class='gap'><td>{_hms(int(g.get('t_utc_ns') or 0))}</td>"
            f"<td>{e(g['label'])}</td></tr>"
            for g in v.gaps
        ]
        out.append("</table>")
    else:
        out.append("<p>No capture gap, tamper note or withheld segment was recorded.</p>")
    out.append(
        "<p>Values were masked by the workstation's masking rules when recorded, before "
        "anything was written: a tokenized value appears as <code>tok_…</code> (the same "
        "value always gives the same token), an escrowed one as <code>esc_…</code>, a "
        "redacted one as <code>[redacted]</code>. Masked values in this session:</p>"
        "<table><tr><th>kind of value</th><th>tokenized or escrowed</th><th>redacted</th></tr>"
    )
    groups = sorted(set(v.masking["tokenized"]) | set(v.masking["redacted"]))
    out += [
        f"<tr><td>{e(g)}</td><td>{v.masking['tokenized'][g]}</td>"
        f"<td>{v.masking['redacted'][g]}</td></tr>"
        for g in groups
    ] or ["<tr><td colspan='3'>none</td></tr>"]
    out.append("</table>")
    return out


def integrity_part(it: dict[str, Any]) -> list[str]:
    """The integrity status, its first failure, and one row per segment."""
    cls = "ok" if it["ok"] else "bad"
    out = [f"<h3>Integrity: <span class='{cls}'>{e(it['status'])}</span></h3>"]
    if it["first_failure"]:
        out.append(f"<p class='bad'>{e(it['first_failure'])}</p>")
    out.append(
        "<table><tr><th>segment</th><th>status</th><th>signing key</th><th>chunks / "
        "events verified</th><th>RFC 3161</th><th>first failure</th></tr>"
    )
    for s in it["segments"]:
        out.append(
            f"<tr><td>{e(s['file'])}</td><td>{e(s['status'])}</td>"
            f"<td>{e(s['key_id'])}</td><td>{s['chunks_verified']} / {s['events']}</td>"
            f"<td>{e(s['rfc3161']['label'])}</td><td>{e(s['failed_check'] or '')} "
            f"{e(s['failure'] or '')}</td></tr>"
        )
    out.append("</table>")
    return out


def _holds_sentence(holds: Any) -> str:
    """The legal holds the manifest records for the session when it was exported."""
    if holds is None:
        return "Legal holds were not recorded in this bundle."
    if not holds:
        return "No legal hold was in force when it was exported."
    parts = [
        e(h.get("matter") or "?")
        + (
            f" (placed {e(h['placed_utc'])}" + (f" by {e(h['by'])}" if h.get("by") else "") + ")"
            if h.get("placed_utc")
            else ""
        )
        for h in holds
        if isinstance(h, dict)
    ]
    return "Legal holds in force when exported: " + "; ".join(parts) + "."


def retention_part(v: SessionView) -> list[str]:
    """The retention class, and per segment the rule and retain-until the manifest records."""
    out = [
        f"<h3>Retention</h3><p>Record class: {e(v.entry.get('record_class') or 'not recorded')}."
        f" {_holds_sentence(v.entry.get('holds'))}</p>"
        "<table><tr><th>segment</th><th>class</th><th>rule</th><th>retain until</th></tr>"
    ]
    for s in v.entry.get("segments") or []:
        r = s.get("retention") or {}
        out.append(
            f"<tr><td>{e(s.get('segment_id'))}</td><td>{e(r.get('class') or 'not recorded')}"
            f"</td><td>{e(r.get('rule') or 'not recorded')}</td>"
            f"<td>{e(r.get('retain_until') or 'not shipped from this home')}</td></tr>"
        )
    out.append("</table>")
    return out
