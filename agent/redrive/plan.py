"""What a re-drive will do: the recorded actions as steps, their expected requests, the URL
rewrite to the target environment, and the values that fill masked fields.

A step is one derived action. Its expected requests are those the capture's cause links tie
to it, minus **background** requests: a method and path the page also requested with no
action behind it, or a GET that several actions "caused" (a poll), is not the action's doing
and is not compared. A submit right after
a click in the same form is the click's consequence: it ``follows`` (nothing is done for it;
its requests are awaited from the click on). A dialog, popup or download that the recording
lists just before the click that opened it is moved after that click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agent.actions.model import Action, CausedRequest
from agent.errors import UsageError
from agent.events import Record
from agent.tomlfile import read_toml

if TYPE_CHECKING:
    from agent.redrive.screens import Recording

FOLLOW_NS = 1_000_000_000
"""A submit this soon after a click in its form is that click's consequence."""

POLL_ACTIONS = 3
"""A GET that this many different actions "caused" is a poll, not any one action's doing."""

_OPENED = frozenset({"dialog", "popup", "download"})
_OPENERS = frozenset({"click", "dblclick", "key", "submit"})


@dataclass(frozen=True)
class Expected:
    """A request the original action caused: compared by method, path and status class."""

    method: str
    path: str
    status: str  # "2xx", "4xx", "failed", "sent" (a WebSocket message), "pending"


@dataclass
class Step:
    """One action to re-execute (``follows``: done by the step before; only awaited)."""

    index: int
    action: Action
    expected: list[Expected] = field(default_factory=list)
    follows: bool = False


@dataclass
class Plan:
    """The steps of a session and what the comparison needs from its recording."""

    session_id: str
    steps: list[Step]
    known_errors: set[str]  # console errors of the recording, normalized
    origin: str  # the origin of the session's first navigation
    integrity: str = ""  # the session's integrity status when read ("verified", ...)
    records: list[Record] = field(default_factory=list)  # what --stub-network answers from
    recording: Recording | None = None  # events, assets and response shapes to compare with


def path_of(url: str) -> str:
    """The path of a URL (``/api/orders``); the query and origin are not compared."""
    return urlsplit(url).path or "/"


def status_class(r: CausedRequest) -> str:
    """``2xx`` / ``4xx`` / ``failed`` / ``sent`` / ``pending`` for a recorded request."""
    if r.ws:
        return "sent"
    if r.failed:
        return "failed"
    return f"{r.status // 100}xx" if r.status else "pending"


def normalize_error(text: str) -> str:
    """A console error without its numbers (counts and ids differ between runs)."""
    return re.sub(r"\d+", "#", " ".join(text.split()))[:300]


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL."""
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


class Rewriter:
    """Moves recorded URLs to the target: ``--base-url`` for the session's origin, ``--map``
    for others (``http://a:1=http://b:2``); other URLs stay as recorded."""

    def __init__(self, origin: str, base_url: str, maps: list[str]) -> None:
        self.origins: dict[str, str] = {}
        for m in maps:
            src, sep, dst = m.partition("=")
            if not sep or not src or not dst:
                raise UsageError(f"--map {m!r}: expected ORIGIN=URL")
            self.origins[origin_of(src)] = dst.rstrip("/")
        if not urlsplit(base_url).scheme or not urlsplit(base_url).netloc:
            raise UsageError(f"--base-url {base_url!r}: expected an absolute URL")
        self.origins.setdefault(origin, base_url.rstrip("/"))

    def __call__(self, url: str) -> str:
        o = origin_of(url)
        to = self.origins.get(o)
        return to + url[len(o) :] if to is not None else url


def read_fill(path: Path | None) -> dict[str, str]:
    """The ``--fill`` table: flat, string keys to string values."""
    if path is None:
        return {}
    raw = read_toml(path, "fill values file")
    out: dict[str, str] = {}
    for k, v in raw.items():
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise UsageError(f"{path}: {k!r}: a fill value must be a string (a flat table)")
        out[k] = str(v)
    return out


def _background(records: list[Record]) -> set[tuple[str, str]]:
    """Method and path of the page's own requests: any the page made with no action behind
    it, and a GET made at :data:`POLL_ACTIONS` or more different actions (a poll that the
    cause links attribute to whatever the person was doing when it fired)."""
    out: set[tuple[str, str]] = set()
    causes: dict[tuple[str, str], set[str]] = {}
    for r in records:
        if r.kind != "net.request":
            continue
        key = (str(r.payload.get("method") or ""), path_of(str(r.payload.get("url") or "")))
        cause = r.payload.get("cause")
        aid = str(cause.get("action_id") or "") if isinstance(cause, dict) else ""
        if not aid:
            out.add(key)
        elif key[0] == "GET":
            causes.setdefault(key, set()).add(aid)
    return out | {k for k, aids in causes.items() if len(aids) >= POLL_ACTIONS}


def _expected(a: Action, background: set[tuple[str, str]]) -> list[Expected]:
    out: list[Expected] = []
    for r in a.requests:
        method = "WS" if r.ws else r.method
        e = Expected(method, path_of(r.url), status_class(r))
        if e.path.rsplit("/", 1)[-1].startswith("favicon."):
            continue  # the browser fetches the icon when it likes: no action's doing
        if (e.method, e.path) not in background and e not in out:
            out.append(e)
    return out


def _reordered(actions: list[Action]) -> list[Action]:
    """A dialog, popup or download listed before the action that opened it comes after it.

    Actions come in time order, but a popup's target can reach the journal before the
    recorder's batch with the last keystrokes and the click that opened it: every action of
    the opener page that happened no later than the popup (by the page's clock) goes before
    it. When none of those is an opener (click, key, submit), the opener is the next one on
    that page, if it comes within :data:`FOLLOW_NS` and closer than an opener just before:
    an opened action whose opener page's last action is the click that opened it stays.
    """
    out = list(actions)
    i = 0
    while i < len(out) - 1:
        a = out[i]
        if a.verb not in _OPENED:
            i += 1
            continue
        opener = str(a.detail.get("opener") or a.page)
        j, passed_opener = i + 1, False
        while j < len(out) and out[j].page == opener and out[j].t_utc_ns <= a.t_utc_ns:
            passed_opener = passed_opener or out[j].verb in _OPENERS
            j += 1
        if not passed_opener and j < len(out):
            j += _opens(out[j], a, opener, _gap_before(out, i, opener))
        if j == i + 1:
            i += 1
            continue
        out.insert(j - 1, out.pop(i))
        i = j
    return out


def _gap_before(out: list[Action], i: int, opener: str) -> int | None:
    """How long before ``out[i]`` the opener page's last action was, if it was an opener."""
    prev = next((b for b in reversed(out[:i]) if b.page == opener), None)
    if prev is None or prev.verb not in _OPENERS:
        return None
    return out[i].t_utc_ns - prev.t_utc_ns


def _opens(b: Action, a: Action, opener: str, gap_before: int | None) -> bool:
    """Whether ``b``, listed after the opened action ``a``, is what opened it."""
    if b.verb not in _OPENERS or b.page != opener:
        return False
    gap = b.t_utc_ns - a.t_utc_ns
    return gap <= FOLLOW_NS and (gap_before is None or gap < gap_before)


def build_plan(session_id: str, actions: list[Action], records: list[Record]) -> Plan:
    """The steps of a recorded session."""
    background = _background(records)
    errors = {
        normalize_error(str(r.payload.get("text") or ""))
        for r in records
        if r.kind == "page.console" and r.payload.get("level") in ("error", "exception")
    }
    steps: list[Step] = []
    for a in _reordered(actions):
        prev = steps[-1].action if steps else None
        follows = bool(
            a.verb == "submit"
            and prev is not None
            and prev.verb == "click"
            and prev.page == a.page
            and prev.target.form == a.target.form
            and a.t_utc_ns - prev.t_utc_ns <= FOLLOW_NS
        )
        steps.append(Step(len(steps) + 1, a, _expected(a, background), follows))
    navs = [a.url for a in actions if a.verb == "navigate" and a.url]
    if not navs:
        raise UsageError(f"session {session_id}: no navigation recorded, nothing to re-drive")
    return Plan(session_id, steps, errors, origin_of(navs[0]))


def load_plan(home: Path, session: str) -> Plan:
    """Verify and read a local session (``UsageError`` for an unknown id)."""
    from agent.redrive.screens import load_recording
    from agent.redrive.scroll import with_scrolls
    from agent.replay.session import ReplaySession

    rs = ReplaySession.open(home, session)
    try:
        first, last = rs.seq_range
        records = list(rs.records(first, last)) if first is not None and last is not None else []
        actions = with_scrolls(list(rs.derived_actions), records)
        plan = build_plan(rs.info.session_id, actions, records)
        plan.integrity = str(rs.integrity()["status"])
        plan.records = records
        plan.recording = load_recording(home, rs, records)
        return plan
    finally:
        rs.close()
