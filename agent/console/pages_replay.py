"""The replay viewer inside the console, for a session read from the vault with the firm key.

``/replay/<session>?seq=N`` (role ``view``) restores and verifies the session, writes the
``audit.view`` record, and opens the project's own viewer at ``/v/<view>/?token=…#seq=N``.
Each opening is a *view*: a random id in the path, a random bearer token the viewer page takes
from its address and sends on every ``api/`` call (it sends no cookies), and an asset key in
archived assets' paths - the same scheme as ``sessiontape replay``. A view lives only while
the console session that opened it does: sign out and its API answers 401.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from agent.console.auth import SIGN_IN, Refused, current, guarded, state_of
from agent.console.identity import Principal
from agent.console.records import open_replay
from agent.console.state import ConsoleState
from agent.replay import assets as asset_mod
from agent.replay.rrweb_urls import OfflineUrls
from agent.replay.server import STATIC as VIEWER_STATIC
from agent.replay.server import STATIC_FILES, session_summary
from agent.replay.session import ReplaySession

MAX_VIEWS = 16


@dataclass
class View:
    """One opened replay."""

    vid: str
    rs: ReplaySession
    subject: str
    start_seq: int | None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    asset_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def close(self) -> None:
        self.rs.close()


def _open_view(st: ConsoleState, who: Principal, session_id: str, seq: int | None) -> View:
    rs = open_replay(st, session_id)
    try:
        first, last = rs.seq_range
        if seq is not None and (first is None or last is None or not first <= seq <= last):
            seq = first
        integ = rs.integrity()
        st.audit(
            who,
            "audit.view",
            {"session": rs.info.session_id, "integrity": integ["status"], "start_seq": seq},
        )
    except BaseException:
        rs.close()
        raise
    view = View(secrets.token_urlsafe(12), rs, who.subject, seq)
    with st.lock:
        st.views[view.vid] = view
        old = list(st.views)[:-MAX_VIEWS]
        closing = [st.views.pop(k) for k in old]
    for v in closing:
        v.close()
    return view


@guarded("view")
async def open_page(request: Request, who: Principal) -> Response:
    st = state_of(request)
    raw = request.query_params.get("seq")
    seq = int(raw) if raw and raw.isdigit() else None
    sid = request.path_params["session"]
    view = await run_in_threadpool(_open_view, st, who, sid, seq)
    frag = f"#seq={view.start_seq}" if view.start_seq is not None else ""
    return RedirectResponse(f"/v/{view.vid}/?token={view.token}{frag}", status_code=303)


def _view(request: Request) -> View:
    st = state_of(request)
    with st.lock:
        view = st.views.get(request.path_params["vid"])
    if not isinstance(view, View):
        raise Refused(404, "This replay is no longer open; open it again from the search.")
    return view


def _api_view(request: Request) -> View:
    """The view of an API call: its bearer token, and the console session still alive."""
    view = _view(request)
    auth = request.headers.get("authorization", "")
    given = auth[7:] if auth.startswith("Bearer ") else request.query_params.get("token", "")
    if not secrets.compare_digest(given.encode(), view.token.encode()):
        raise Refused(403, "access token required")
    if not state_of(request).store.signed_in(view.subject, state_of(request).now()):
        raise Refused(401, "the console session that opened this replay has ended")
    return view


async def viewer_page(request: Request) -> Response:
    st = state_of(request)
    found = await run_in_threadpool(current, st, request)
    view = _view(request)
    if found is None or found[1].subject != view.subject:
        raise Refused(401, SIGN_IN, sign_in=True)
    return FileResponse(VIEWER_STATIC / "viewer.html")


async def viewer_static(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "data.js":
        return Response("window.__ST_OFFLINE = null;\n", media_type="application/javascript")
    if name not in STATIC_FILES:
        raise Refused(404, "not found")
    return FileResponse(VIEWER_STATIC / name)


def _int(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise Refused(400, f"missing query parameter {name}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise Refused(400, f"{name} must be an integer") from None


def _json(obj: Any) -> Response:
    body = json.dumps(obj, separators=(",", ":"), default=str)
    return Response(body, media_type="application/json")


def _answer(request: Request, view: View, what: str) -> Any:
    st, rs = state_of(request), view.rs
    if what == "session":
        find = asset_mod.in_store(st.home / "assets")
        return session_summary(rs, find, view.start_seq, st.config.replay.events_page_size)
    if what == "timeline":
        return {
            "entries": rs.timeline,
            "network": list(rs.network.values()),
            "actions": rs.actions,
            "screenshots": rs.screenshots,
        }
    if what == "keyframes":
        return {"streams": rs.keyframes}
    if what == "raw":
        return rs.raw(_int(request, "seq"))
    if what == "seq_at":
        return {"seq": rs.seq_at(_int(request, "t_utc_ns"))}
    if what == "events":
        return _events(request, view)
    raise Refused(404, "not found")


def _events(request: Request, view: View) -> dict[str, Any]:
    rs, page_size = view.rs, state_of(request).config.replay.events_page_size
    first, last = rs.seq_range
    q = request.query_params
    evs, nxt = rs.events(
        _int(request, "from_seq", first or 0),
        _int(request, "to_seq", last or 0),
        stream=q.get("stream"),
        rrweb_only=q.get("rrweb") == "1",
        limit=min(_int(request, "limit", page_size), page_size),
        page=q.get("page"),
    )
    urls = OfflineUrls(asset_mod.url_map(rs.assets), f"/v/{view.vid}/assets/{view.asset_key}/")
    evs = [
        {**e, "payload": urls.event(e["payload"])} if e["kind"].startswith("rrweb.") else e
        for e in evs
    ]
    return {"events": evs, "next_seq": nxt}


async def viewer_api(request: Request) -> Response:
    view = await run_in_threadpool(_api_view, request)
    what = request.path_params["what"]
    return _json(await run_in_threadpool(_answer, request, view, what))


async def viewer_asset(request: Request) -> Response:
    """An archived asset, typed so that it never runs as a page (as the replay server does)."""
    view = _view(request)
    if not secrets.compare_digest(request.path_params["key"].encode(), view.asset_key.encode()):
        raise Refused(403, "asset key required")
    sha = request.path_params["sha"]
    if not asset_mod.is_sha256(sha):
        raise Refused(404, "not found")
    p = asset_mod.asset_path(state_of(request).home / "assets", sha)
    mime = str(view.rs.assets.get(sha, {}).get("mime") or "")
    if p.is_file():
        body = p.read_bytes()
        ctype = asset_mod.served_type(body, mime)
        return Response(body, headers=asset_mod.asset_headers(ctype, sha))
    body, ctype = asset_mod.placeholder(mime, sha)
    headers = {**asset_mod.asset_headers(ctype, sha), "X-Sessiontape-Asset": "missing"}
    return Response(body, headers=headers)


routes = [
    Route("/replay/{session}", open_page),
    Route("/v/{vid}/", viewer_page),
    Route("/v/{vid}/api/{what}", viewer_api),
    Route("/v/{vid}/assets/{key}/{sha}", viewer_asset),
    Route("/v/{vid}/{name}", viewer_static),
]
