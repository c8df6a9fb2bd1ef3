"""Thumbnails of the page at the moments that matter, drawn at export time from the recording
(never from a live screen) by :class:`agent.replay.render.Renderer`.

A moment is a seq on a page: each order, then the significant actions (clicks on buttons and
links, submits, dialogs, downloads, navigations, popups), at most ``limit`` per session. The
page is rebuilt from the offline viewer's own events (URLs already pointed at the archived
assets or removed): the Meta and FullSnapshot of the last keyframe of the page's main stream
at or before the moment, then that stream's events up to it.

The pictures are files of the bundle (``report/thumbs/<session>/<seq>.jpg``) listed in the
manifest by hash; the manifest also records, per moment, the file or why there is none, so
``verify-bundle`` re-derives ``report.html`` from the segments and that record without
drawing anything again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.actions.model import Action
from agent.errors import CaptureError
from agent.replay.orders import Order
from agent.replay.render import Renderer
from agent.replay.session import stream_id

SIGNIFICANT = ("submit", "dialog", "download", "navigate", "popup")
"""Verbs that always get a picture; a click gets one when its target is a button or link."""
_CLICKABLE = ("button", "link", "menuitem", "tab", "checkbox", "radio")
GIVE_UP_AFTER = 3
"""A session's remaining moments are not drawn after this many failures in a row (a page
that hangs the replayer would otherwise cost a timeout per moment)."""


@dataclass(frozen=True)
class Moment:
    """A seq on a page to picture."""

    seq: int
    page: str | None


def thumb_path(session_id: str, seq: int) -> str:
    """The bundle path of a moment's picture."""
    return f"report/thumbs/{session_id}/{seq}.jpg"


def _significant(a: Action) -> bool:
    if a.verb in SIGNIFICANT:
        return True
    return a.verb == "click" and (a.target.role in _CLICKABLE or a.target.tag in ("button", "a"))


def moments(actions: list[Action], orders: list[Order], limit: int) -> list[Moment]:
    """What to picture: every order first, then significant actions in order, ``limit`` in
    all, sorted by seq (a seq pictured once)."""
    picked: dict[int, Moment] = {}
    for o in orders:
        picked.setdefault(o.seq, Moment(o.seq, o.page))
    for a in actions:
        if _significant(a):
            picked.setdefault(a.seq, Moment(a.seq, a.page))
    chosen = list(picked.values())[: max(0, limit)]
    return sorted(chosen, key=lambda m: m.seq)


def replay_events(data: dict[str, Any], m: Moment) -> list[dict[str, Any]]:
    """The rrweb events that rebuild the main frame of ``m.page`` at ``m.seq`` (empty when
    the page has no snapshot by then)."""
    if m.page is None:
        return []
    sid = stream_id(m.page, m.page)
    kfs = [k for k in data["keyframes"]["streams"].get(sid, []) if int(k["seq"]) <= m.seq]
    if not kfs:
        return []
    kf = kfs[-1]
    to = max(m.seq, int(kf["full_seq"]))
    return [
        e["payload"]
        for e in data["events"]
        if int(kf["seq"]) <= int(e["seq"]) <= to
        and str(e["kind"]).startswith("rrweb.")
        and stream_id(e.get("page"), e.get("frame")) == sid
    ]


@dataclass
class Thumbnails:
    """What rendering gave: pictures by bundle path, and per session seq -> outcome (the
    bundle path, or ``{"error": why}``), plus every request the renderer saw."""

    images: dict[str, bytes] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SessionJob:
    """One session's moments, its offline viewer data and its bundled assets directory."""

    session_id: str
    moments: list[Moment]
    data: dict[str, Any]
    assets: Path


async def render_session(r: Renderer, job: SessionJob, width: int, out: Thumbnails) -> None:
    mine = out.outcomes.setdefault(job.session_id, {})
    if job.assets.is_dir():
        for p in job.assets.iterdir():
            r.serve(f"assets/{p.name}", p.read_bytes())
    failed_in_a_row = 0
    for m in job.moments:
        events = replay_events(job.data, m)
        if len(events) < 2:
            mine[str(m.seq)] = {"error": "no snapshot of this page before this moment"}
            continue
        if failed_in_a_row >= GIVE_UP_AFTER:
            mine[str(m.seq)] = {"error": f"not drawn: {GIVE_UP_AFTER} pictures in a row failed"}
            continue
        try:
            img = await r.thumbnail(events, width)
        except CaptureError as exc:
            mine[str(m.seq)] = {"error": f"could not be rendered ({exc.message})"}
            failed_in_a_row += 1
            continue
        failed_in_a_row = 0
        path = thumb_path(job.session_id, m.seq)
        out.images[path] = img
        mine[str(m.seq)] = {"file": path}


def unavailable(jobs: list[SessionJob], why: str, out: Thumbnails) -> None:
    """Every moment not yet drawn gets ``why`` as its outcome."""
    for j in jobs:
        mine = out.outcomes.setdefault(j.session_id, {})
        for m in j.moments:
            mine.setdefault(str(m.seq), {"error": why})


async def render_jobs(r: Renderer, jobs: list[SessionJob], width: int, out: Thumbnails) -> None:
    """Draw every job's moments with ``r``; a moment that cannot be drawn gets an outcome
    naming why, never an exception."""
    if not any(j.moments for j in jobs):
        return
    try:
        await r.open_replayer()
        for j in jobs:
            await render_session(r, j, width, out)
    except CaptureError as exc:
        unavailable(jobs, f"could not be rendered ({exc.message})", out)
