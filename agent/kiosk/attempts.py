"""How a refused load was attempted, from what the browser said before it asked for it.

The ``how`` of a ``kiosk.blocked`` event:

=================  ===========================================================================
``link``           a link click (``Page.frameRequestedNavigation`` reason ``anchorClick``)
``redirect``       a server redirect led there (the paused request names the one redirected)
``window.open``    a popup's first document: ``window.open()`` or a ``target=_blank`` link/form
``form-post``      a form submitted with POST (``form-get``: with GET)
``meta-refresh``   ``<meta http-equiv=refresh>`` (``refresh-header``: a ``Refresh`` header)
``script``         page script set ``location`` (also what a ``javascript:`` URL does)
``drop``           Chromium's navigation reason ``other`` without a ``window.open``: a link or
                   file dropped on the page
``iframe``         an ``<iframe>``'s document
``service-worker`` a request made by a service worker (``worker``: a dedicated/shared worker)
``subresource``    a script, style, image, font, fetch/XHR ... of a page
``new-tab``        a tab the browser opened by itself (Ctrl+T, Ctrl+N, Ctrl+Shift+N)
``data-url``       Chromium refused a top-level ``data:`` navigation itself (recorded only)
``file``           Chromium refused a web page's ``file:`` link itself (recorded only)
``typed``          a navigation the browser started (address bar, the agent's own driver)
``websocket``      a WebSocket to an origin not allowed (refused by the proxy rules; recorded
                   from ``Network.webSocketCreated``)
=================  ===========================================================================
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from agent.kiosk.allowlist import Scope

# Page.frameRequestedNavigation reason -> how the attempt is recorded
REASONS = {
    "anchorClick": "link",
    "formSubmissionPost": "form-post",
    "formSubmissionGet": "form-get",
    "metaTagRefresh": "meta-refresh",
    "httpHeaderRefresh": "refresh-header",
    "scriptInitiated": "script",
    "reload": "reload",
    "historyNavigation": "history",
}
WORKERS = ("worker", "shared_worker", "service_worker")
_REMEMBER = 256


class Bounded(OrderedDict[str, Any]):
    """A dict that forgets its oldest keys beyond ``limit`` entries."""

    def __init__(self, limit: int = _REMEMBER) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: str, value: Any) -> None:
        """Set ``key`` as the newest entry."""
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class Attempts:
    """What the browser announced about targets and navigations, to name each attempt."""

    def __init__(self) -> None:
        self.pages: dict[str, str | None] = {}  # live page target id -> opener id
        self.workers: dict[str, str] = {}  # live worker target id -> its type
        self._opened = Bounded()  # URLs passed to window.open / target=_blank
        self._requested = Bounded()  # URL -> Page.frameRequestedNavigation reason

    def observe(self, method: str, params: dict[str, Any]) -> None:
        """Take in one CDP event (those not about targets or navigations are ignored)."""
        if method in ("Target.targetCreated", "Target.targetInfoChanged"):
            info = params.get("targetInfo", {})
            tid, ttype = str(info.get("targetId", "")), info.get("type")
            if ttype == "page":
                self.pages[tid] = info.get("openerId")
            elif ttype in WORKERS:
                self.workers[tid] = str(ttype)
        elif method == "Target.targetDestroyed":
            tid = str(params.get("targetId", ""))
            self.pages.pop(tid, None)
            self.workers.pop(tid, None)
        elif method == "Page.windowOpen":
            self._opened.put(str(params.get("url", "")), None)
        elif method == "Page.frameRequestedNavigation":
            self._requested.put(str(params.get("url", "")), str(params.get("reason", "")))

    def reason(self, url: str) -> str:
        """The renderer's announced reason for navigating to ``url`` ("" when none)."""
        return str(self._requested.get(url, ""))

    def is_service_worker(self, frame: str) -> bool:
        """Whether a request's frame id is a service worker's (its script fetch included)."""
        return self.workers.get(frame) == "service_worker"

    def is_top(self, frame: str, known_page: bool) -> bool:
        """Whether ``frame`` is the main frame of a tab (its id is the tab's target id)."""
        return known_page or frame in self.pages

    def how(self, paused: dict[str, Any], scope: Scope, url: str, fresh_page: bool) -> str:
        """How the paused request came about (see the module's table).

        ``fresh_page``: the frame is a tab's main frame that has not committed a document.
        """
        frame = str(paused.get("frameId", ""))
        if paused.get("redirectedRequestId"):
            return "redirect"
        worker = self.workers.get(frame)
        if worker is not None:  # a worker's requests carry its target id as their frame
            return "service-worker" if worker == "service_worker" else "worker"
        if scope == "subresource":
            return "subresource"
        reason = self.reason(url)
        if reason == "anchorClick":
            return "link"
        if url in self._opened or (fresh_page and self.pages.get(frame)):
            return "window.open"
        if reason == "other":
            return "drop"
        if reason in REASONS:
            return REASONS[reason]
        return "iframe" if scope == "frame" else "typed"
