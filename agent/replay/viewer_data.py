"""``viewer/<session>/data.js`` of an export bundle: everything the offline viewer shows,
built from a verified :class:`ReplaySession` and its records.

The export writes it, and the bundle verifier re-derives it from the bundle's own segments
and compares the bytes, so both go through :func:`viewer_data` and :func:`data_js`.
"""

from __future__ import annotations

import json
from typing import Any

from agent.events import Record
from agent.replay.assets import AssetFinder, url_map
from agent.replay.proofs import chunk_proof, load_leaves
from agent.replay.rrweb_urls import OfflineUrls
from agent.replay.server import session_summary
from agent.replay.session import ReplaySession

DATA_JS_PREFIX = "window.__ST_OFFLINE = "
DATA_JS_SUFFIX = ";\n"
OFFLINE_ASSET_PREFIX = "assets/"
OFFLINE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; media-src 'self' data:; "
    "connect-src 'none'; frame-src 'self'; form-action 'none'; base-uri 'none'; "
    "object-src 'none'"
)
"""The offline viewer's policy: its own files and ``data:`` only, never a connection."""
_CHARSET = '<meta charset="utf-8">'


def offline_viewer_html(live_html: bytes) -> bytes:
    """The viewer page for ``file://``: the live page with :data:`OFFLINE_CSP` as its first
    policy (a ``<meta>`` right after the charset, before anything that loads)."""
    text = live_html.decode("utf-8")
    if _CHARSET not in text:
        raise ValueError("viewer.html has no charset meta to put the policy after")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{OFFLINE_CSP}">'
    return text.replace(_CHARSET, _CHARSET + "\n" + meta, 1).encode("utf-8")


def _chunk_proofs(rs: ReplaySession) -> dict[str, Any]:
    """``segment_id:chunk`` -> inclusion proof, for every verified chunk of the session."""
    proofs: dict[str, Any] = {}
    for s in rs.segs:
        if s.file is not None:
            sl = s.leaves or load_leaves(s.file)
            for i in range(s.report.chunks_verified):
                proofs[f"{sl.segment_id}:{i}"] = chunk_proof(sl, i)
    return proofs


def viewer_data(find_asset: AssetFinder, rs: ReplaySession, recs: list[Record]) -> dict[str, Any]:
    """What the offline viewer reads from ``data.js``: summary, timeline, events, proofs."""
    urls = OfflineUrls(url_map(rs.assets), OFFLINE_ASSET_PREFIX)
    return {
        "session": session_summary(rs, find_asset, None, 1 << 30),
        "timeline": {
            "entries": rs.timeline,
            "network": list(rs.network.values()),
            "actions": rs.actions,
            "screenshots": rs.screenshots,
        },
        "keyframes": {"streams": rs.keyframes},
        "events": [
            {
                **r.as_dict(),
                **({"payload": urls.event(r.payload)} if r.kind.startswith("rrweb.") else {}),
                "t_text": str(r.t_utc_ns),
                "m_text": str(r.t_mono_ns),
            }
            for r in recs
        ],
        "proofs": _chunk_proofs(rs),
    }


def data_js(data: dict[str, Any]) -> bytes:
    """The bytes of ``data.js`` for ``data`` (``</`` escaped so no ``</script>`` closes it)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    return (DATA_JS_PREFIX + body + DATA_JS_SUFFIX).encode("utf-8")


def parse_data_js(raw: bytes) -> Any:
    """The value a ``data.js`` assigns, or ``ValueError`` when it is not exactly that."""
    text = raw.decode("utf-8")
    if not (text.startswith(DATA_JS_PREFIX) and text.endswith(DATA_JS_SUFFIX)):
        raise ValueError("not a sessiontape data.js")
    return json.loads(text[len(DATA_JS_PREFIX) : -len(DATA_JS_SUFFIX)])
