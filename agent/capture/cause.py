"""Link each network request to the user action that most plausibly triggered it.

A user action is a click, an Enter keystroke or a form submission reported by the recorder.
The candidate is the latest action in the same page no more than ``window_ms`` before the
request, preferring one in the same frame. Recorder batches reach the agent up to one flush
interval after the action (later when the machine is loaded), so requests are held back
before being linked (see :class:`agent.capture.held.HeldEvents`) until the page's recorders
have reported something at least as recent as the request: a recorder queues its entries
in time order, so once an entry from after the request has arrived, every action before
the request has arrived too.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

# Date.now() in the page has millisecond resolution; allow the request to appear to start
# a hair before the action that caused it.
_SKEW_NS = 5_000_000


@dataclass(frozen=True, slots=True)
class Action:
    """A user action, by the seq-less reference other events point at."""

    page: str
    frame: str | None
    t_utc_ns: int
    kind: str
    action_id: str

    def ref(self) -> dict[str, Any]:
        """The reference stored in ``net.request.payload["cause"]``."""
        return {
            "page": self.page,
            "t_utc_ns": self.t_utc_ns,
            "kind": self.kind,
            "action_id": self.action_id,
            "frame": self.frame,
        }


class CauseLinker:
    """Remember recent actions per page; answer "which action caused this request?"."""

    def __init__(self, window_ms: int, keep: int = 64) -> None:
        self._window_ns = window_ms * 1_000_000
        self._keep = keep
        self._actions: dict[str, deque[Action]] = {}
        self._heard: dict[str, int] = {}
        self._counter = 0

    def new_action_id(self) -> str:
        """A fresh id for a user-action event (unique within this capture)."""
        self._counter += 1
        return f"a{self._counter}"

    def note(self, action: Action) -> None:
        """Record a user action."""
        q = self._actions.setdefault(action.page, deque(maxlen=self._keep))
        q.append(action)

    def heard(self, page: str, t_utc_ns: int) -> None:
        """A recorder of ``page`` reported an entry stamped ``t_utc_ns``."""
        if t_utc_ns > self._heard.get(page, 0):
            self._heard[page] = t_utc_ns

    def has_heard(self, page: str, t_utc_ns: int) -> bool:
        """Whether every action in ``page`` up to ``t_utc_ns`` (and the skew after it that
        :meth:`link` accepts) has been reported."""
        return self._heard.get(page, 0) >= t_utc_ns + _SKEW_NS

    def link(
        self, page: str, frame: str | None, t_utc_ns: int, opener: str | None = None
    ) -> Action | None:
        """The most plausible cause of a request made at ``t_utc_ns`` in ``page``/``frame``.

        A popup's first requests are caused by the click in its opener, so ``opener`` is
        searched when the page itself has no candidate.
        """
        for pg in (page, opener):
            if pg is None:
                continue
            best: Action | None = None
            best_same: Action | None = None
            for act in self._actions.get(pg, ()):  # frames interleave: not sorted by time
                if act.t_utc_ns > t_utc_ns + _SKEW_NS or t_utc_ns - act.t_utc_ns > self._window_ns:
                    continue
                if best is None or act.t_utc_ns >= best.t_utc_ns:
                    best = act
                if (
                    frame is not None
                    and act.frame == frame
                    and (best_same is None or act.t_utc_ns >= best_same.t_utc_ns)
                ):
                    best_same = act
            if best_same is not None or best is not None:
                return best_same or best
        return None

    def forget(self, page: str) -> None:
        """Drop a closed page's actions."""
        self._actions.pop(page, None)
        self._heard.pop(page, None)


def initiator_of(init: dict[str, Any]) -> dict[str, Any]:
    """A request's ``initiator`` as recorded: its type, URL and up to 8 stack frames."""
    out: dict[str, Any] = {"type": init.get("type", "other")}
    if init.get("url"):
        out["url"] = init["url"]
    stack = init.get("stack")
    frames: list[dict[str, Any]] = []
    while isinstance(stack, dict) and len(frames) < 8:
        for cf in stack.get("callFrames", [])[: 8 - len(frames)]:
            frames.append(
                {
                    "fn": cf.get("functionName", ""),
                    "url": cf.get("url", ""),
                    "line": int(cf.get("lineNumber", 0)),
                }
            )
        stack = stack.get("parent")
    if frames:
        out["stack"] = frames
    return out
