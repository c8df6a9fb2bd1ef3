"""``report.html``: the part of an export an examiner reads and hands on (self-contained, works
offline from ``file://``; ``report.pdf`` is the same page printed by headless Chromium).

It opens with a one-paragraph summary per session (who, workstation, when, which sites, how
many actions, orders and downloads, integrity), then per session the action narrative (time,
what was done in words, the requests it caused with their status, a thumbnail of the page at
each significant moment), the network table, gaps and masking (counts per kind of value,
never values), integrity per segment and retention; then custody (who exported, for which
matter, why) and how to verify. No script, no external resource: thumbnails are bundle files
(``report/thumbs/…``) and the page's policy allows images from the bundle only.

Everything here is a function of :class:`~agent.replay.report_view.SessionView` and the
signed manifest's fields, so ``verify-bundle`` re-derives the same bytes.
"""

from __future__ import annotations

from typing import Any

from agent.clock import utc_iso
from agent.replay.report_parts import (
    CSS,
    e,
    integrity_part,
    masking_part,
    narrative_part,
    network_part,
    retention_part,
    summary_sentence,
)
from agent.replay.report_view import SessionView

_integrity_part = integrity_part  # the name the integrity-label tests import


def _metadata_part(v: SessionView) -> list[str]:
    """Heading and the who/where/when table."""
    m = v.meta
    out = [f"<h2 id='s-{e(m['session_id'])}'>Session {e(m['session_id'])}</h2><table>"]
    for k in ("user", "workstation", "record_class", "retention_rule", "events", "bytes"):
        out.append(f"<tr><th>{k}</th><td>{e(m.get(k, ''))}</td></tr>")
    out.append(
        f"<tr><th>start (UTC)</th><td>{e(utc_iso(m['start_utc_ns']))}</td></tr>"
        f"<tr><th>end (UTC)</th><td>{e(utc_iso(m['end_utc_ns']))}</td></tr>"
        f"<tr><th>sites</th><td>{e(', '.join(v.origins) or 'none')}</td></tr></table>"
    )
    return out


def session_section(v: SessionView) -> str:
    """One session's part of the report."""
    sid = e(v.meta["session_id"])
    out = [
        *_metadata_part(v),
        *narrative_part(v),
        *network_part(v),
        *masking_part(v),
        *integrity_part(v.integrity),
        *retention_part(v),
        f"<p class='noprint'>Step through this session: <a href='viewer/{sid}/viewer.html'>"
        "offline viewer</a>.</p>",
    ]
    return "\n".join(out)


def report_header(custody: dict[str, Any], ids: list[str], now: int) -> dict[str, Any]:
    """The custody table (``now``: the export time)."""
    return {
        "exported (UTC)": utc_iso(now),
        "exported by (OS account)": custody["requester"],
        "reason": custody["reason"],
        "matter": custody["matter"],
        "approver": custody.get("approver") or "none recorded",
        "query": custody["query"] or "",
        "sessions": ", ".join(ids),
    }


def readable_by(decryption: dict[str, Any]) -> str:
    """Who can read what in the bundle, in one paragraph (the same words the export prints)."""
    clear = (
        "native/events.jsonl, network.har, actions.csv, report.html, report.pdf and each "
        "viewer's data.js hold the session's events (as masked at record time) in clear: "
        "anyone with this bundle reads them. "
    )
    if decryption.get("included"):
        return clear + (
            "The native segments stay encrypted; their data keys are in keys/deks.json, sealed "
            f"to the recipient key {decryption.get('recipient_key_id')} (readable only with "
            "that private key)."
        )
    return clear + (
        "The native segments stay encrypted and their data keys are NOT included (exported "
        "without --recipient): the segments are readable only with the recording "
        "workstation's key or the firm key."
    )


def _verify_part(bundle: dict[str, Any]) -> str:
    """How a third party checks this bundle."""
    keys = "".join(f"<li><code>{e(k)}</code></li>" for k in bundle["trusted_keys"]) or (
        "<li>none</li>"
    )
    rk = ""
    if bundle["decryption"].get("included"):
        rk = " --recipient-key &lt;your private key PEM&gt;"
    return (
        "<h2>How to verify this bundle</h2><p>Obtain the firm's public signing keys through "
        "a channel other than this bundle, into a directory, then run:</p>"
        "<pre>sessiontape verify-bundle &lt;this bundle&gt; --trust &lt;firm keys dir&gt; "
        f"--tsa-root &lt;TSA root PEM&gt;{rk}</pre>"
        "<p>Signing keys included for identification only (not trusted on their own: "
        f"compare their ids with the keys obtained from the firm):</p><ul>{keys}</ul>"
        "<p>The bundle hash is the SHA-256 of <code>manifest.json</code> "
        "(<code>sha256sum manifest.json</code>); the export printed it and recorded it in "
        "its custody record in the firm's access audit. "
        "Thumbnails and report.pdf are rendered at export time: the verifier checks them by "
        "their hash in the signed manifest, it does not render them again.</p>"
        f"<p>{e(readable_by(bundle['decryption']))}</p>"
    )


def render(views: list[SessionView], header: dict[str, Any], bundle: dict[str, Any]) -> bytes:
    """The whole report (``bundle``: ``trusted_keys``, the bundle paths of the signers'
    public keys, and ``decryption``, the manifest's decryption entry)."""
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in header.items())
    summary = " ".join(summary_sentence(v) for v in views) or "No session."
    doc = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src 'self' data:; style-src 'unsafe-inline'\">"
        f"<title>sessiontape evidence report</title><style>{CSS}</style></head><body>"
        "<h1>sessiontape evidence report</h1>"
        f"<p class='summary' id='summary'>{e(summary)}</p>"
        + "\n".join(session_section(v) for v in views)
        + f"<h2>Custody</h2><table>{rows}</table>"
        + _verify_part(bundle)
        + "</body></html>\n"
    )
    return doc.encode("utf-8")
