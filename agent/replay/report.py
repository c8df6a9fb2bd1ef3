"""``report.html``: the human-readable part of an export (self-contained, works offline).

Metadata, integrity results, the action timeline (with screenshots at key actions when the
recording made ``page.screenshot`` events; otherwise it says so) and a network summary. No
script, no external resource: screenshots are inlined as ``data:`` URIs.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from agent.actions.model import Action
from agent.clock import utc_iso
from agent.replay.assets import AssetFinder
from agent.replay.session import ReplaySession

_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:left;vertical-align:top;font-size:12px}th{background:#f0f0f0}.ok{color:#1d7a35}
.bad{color:#b3261e;font-weight:600}img{max-width:320px;border:1px solid #999}
.gap td{background:#fde2e1}"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _metadata_part(m: dict[str, Any]) -> list[str]:
    """Heading and the who/where/when table."""
    out = [f"<h2>Session {_e(m['session_id'])}</h2><table>"]
    for k in ("user", "workstation", "record_class", "retention_rule", "events", "bytes"):
        out.append(f"<tr><th>{k}</th><td>{_e(m.get(k, ''))}</td></tr>")
    out.append(
        f"<tr><th>start (UTC)</th><td>{_e(utc_iso(m['start_utc_ns']))}</td></tr>"
        f"<tr><th>end (UTC)</th><td>{_e(utc_iso(m['end_utc_ns']))}</td></tr></table>"
    )
    return out


def _integrity_part(it: dict[str, Any]) -> list[str]:
    """The integrity status, its first failure, and one row per segment."""
    cls = "ok" if it["ok"] else "bad"
    out = [f"<h3>Integrity: <span class='{cls}'>{_e(it['status'])}</span></h3>"]
    if it["first_failure"]:
        out.append(f"<p class='bad'>{_e(it['first_failure'])}</p>")
    out.append(
        "<table><tr><th>segment</th><th>status</th><th>signing key</th><th>chunks / "
        "events verified</th><th>RFC 3161</th><th>first failure</th></tr>"
    )
    for s in it["segments"]:
        tst = s["rfc3161"]["label"]
        out.append(
            f"<tr><td>{_e(s['file'])}</td><td>{_e(s['status'])}</td>"
            f"<td>{_e(s['key_id'])}</td><td>{s['chunks_verified']} / {s['events']}</td>"
            f"<td>{_e(tst)}</td><td>{_e(s['failed_check'] or '')} "
            f"{_e(s['failure'] or '')}</td></tr>"
        )
    out.append("</table>")
    return out


def _screenshot_cell(rs: ReplaySession, find_asset: AssetFinder, cause_ids: list[str]) -> str:
    """The action's screenshot inlined as a ``data:`` URI (or why it is missing)."""
    sha = next((rs.screenshots[c] for c in cause_ids if c in rs.screenshots), None)
    if not sha:
        return ""
    p = find_asset(sha)
    if not p.is_file():
        return "screenshot missing from the asset archive"
    return (
        f"<img alt='screenshot' src='data:image/jpeg;base64,"
        f"{base64.b64encode(p.read_bytes()).decode()}'>"
    )


def _rows(rs: ReplaySession) -> list[tuple[int, int, str, str, list[str]]]:
    """(time, seq, css class, what, cause ids): the actions in words, with the gaps, withheld
    parts and console errors of the timeline between them."""
    rows = [(a.t_utc_ns, a.seq, "", a.text, list(a.cause_ids)) for a in narrative_actions(rs)]
    for e in rs.timeline:
        if e["cat"] in ("gap", "unverified", "console"):
            cls = "gap" if e["cat"] != "console" else ""
            rows.append((int(e.get("t_utc_ns") or 0), int(e.get("seq") or 0), cls, e["label"], []))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def _actions_part(rs: ReplaySession, find_asset: AssetFinder) -> list[str]:
    """The session's actions in words, with screenshots where recorded (the table is closed
    by the first line of :func:`_network_part`)."""
    out = ["<h3>Actions</h3>"]
    if not rs.screenshots:
        out.append(
            "<p>Screenshots were not enabled for this recording "
            "(no <code>page.screenshot</code> events).</p>"
        )
    out.append("<table><tr><th>seq</th><th>time (UTC)</th><th>what</th><th>screenshot</th></tr>")
    for t_ns, seq, cls, what, causes in _rows(rs):
        shot = _screenshot_cell(rs, find_asset, causes)
        cls_row = f" class='{cls}'" if cls else ""
        t = utc_iso(t_ns) if t_ns else ""
        out.append(
            f"<tr{cls_row}><td>{_e(seq)}</td><td>{_e(t)}</td><td>{_e(what)}</td><td>{shot}</td></tr>"
        )
    return out


def narrative_actions(rs: ReplaySession) -> list[Action]:
    """The actions a report lists for a session (:func:`agent.actions.text.narrative` turns
    them into entries with times, text and request summaries)."""
    return rs.derived_actions


def _network_part(rs: ReplaySession) -> list[str]:
    """One row per request or WebSocket, with the action that caused it; its first line
    closes the actions table."""
    out = [
        "</table><h3>Network</h3><table><tr><th>seq</th><th>method</th><th>url</th>"
        "<th>status</th><th>caused by action</th></tr>"
    ]
    for n in rs.network.values():
        if n.get("seq") is None:
            continue
        status = n.get("failed") and "failed" or n.get("status", "")
        if n.get("method") == "WS":
            status = f"{n.get('frames', 0)} frames"
        out.append(
            f"<tr><td>{n['seq']}</td><td>{_e(n.get('method'))}</td>"
            f"<td>{_e(n.get('url'))}</td><td>{_e(status)}</td>"
            f"<td>{_e(n.get('cause') or '')}</td></tr>"
        )
    out.append("</table>")
    return out


def session_section(
    rs: ReplaySession, find_asset: AssetFinder, integrity: dict[str, Any] | None = None
) -> str:
    """One session's part of the report (``integrity``: the badge to show, default the
    session's own)."""
    m = rs.metadata()
    out = [
        *_metadata_part(m),
        *_integrity_part(integrity if integrity is not None else rs.integrity()),
        *_actions_part(rs, find_asset),
        *_network_part(rs),
    ]
    out.append(
        f"<p>Step through this session: <a href='viewer/{_e(m['session_id'])}/"
        "viewer.html'>offline viewer</a>.</p>"
    )
    return "\n".join(out)


def report_header(custody: dict[str, Any], ids: list[str], now: int) -> dict[str, Any]:
    """The custody table at the top of ``report.html`` (``now``: the export time)."""
    return {
        "exported (UTC)": utc_iso(now),
        "requester": custody["requester"],
        "reason": custody["reason"],
        "matter": custody["matter"],
        "query": custody["query"] or "",
        "sessions": ", ".join(ids),
    }


def render(sections: list[str], header: dict[str, Any]) -> bytes:
    """The whole report."""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in header.items())
    doc = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        f"img-src data:; style-src 'unsafe-inline'\">"
        f"<title>sessiontape evidence report</title><style>{_CSS}</style></head><body>"
        f"<h1>sessiontape evidence report</h1><table>{rows}</table>"
        + "\n".join(sections)
        + "<h2>How to verify this bundle</h2><p>Run <code>sessiontape verify &lt;bundle&gt; "
        "--trust &lt;trusted keys dir&gt; --tsa-root &lt;TSA root PEM&gt;</code>. The keys in "
        "<code>keys/trusted/</code> identify the signers but are not trusted on their own: "
        "compare their ids with keys obtained from the firm by another channel.</p>"
        "</body></html>\n"
    )
    return doc.encode("utf-8")
