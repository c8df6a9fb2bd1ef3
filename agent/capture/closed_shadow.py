"""Closed shadow roots, recorded through the agent's CDP (page JavaScript, and so any in-page
recorder, cannot see them: ``host.shadowRoot`` is null).

Two ways find them; both end the same way: the agent resolves each closed ``ShadowRoot`` into
the recorder's isolated world (``DOM.resolveNode`` with that world's execution context) and
hands it over (``Runtime.callFunctionOn`` on the host with the root as argument,
``__st_closedShadow``). The recorder records it like an open root, with its own
MutationObserver, sends its content again after every full snapshot and marks its top nodes
``closed: true``; the replay shows an open root.

* **Custom elements, at once.** The recorder notes every custom element it serializes (a tag
  with a hyphen) and says in its next batch that it holds some (``"hosts": k``). Capture takes
  them from the recorder's world (``__st_takeHosts``, the array as a remote object) and asks
  the browser which hold a closed root (``DOM.describeNode`` per element: its shadow roots'
  types and backend ids). One ``describeNode`` per custom element, once; at most
  :data:`_PER_SCAN` per scan, the others wait for the next.
* **Every host, by a document scan.** Built-in elements (``div``, ``span``, ``p``, ...) can hold
  a closed root too, attached by page script or declared in HTML, and there are thousands of
  them: one round trip each would cost far too much. Instead one ``DOM.describeNode`` of the
  recorder's ``document`` (``depth`` :data:`_DEPTH`, ``pierce``: into shadow roots) lists the
  whole tree with every shadow root's type; nothing is pushed to the client and no DOM event
  stream is started. A subtree deeper than :data:`_DEPTH` is continued from its cut nodes (the
  answer must stay under the CDP reader's nesting limit), at most :data:`_CALLS` calls per
  scan; what is left waits for the next scan. A scan runs after the batch holding a full
  snapshot, and otherwise after a batch (a heartbeat comes every second) once the last scan
  ended :data:`_EVERY_NS` ago, or :data:`_COST_FACTOR` times its duration if longer (a scan
  then takes at most 1 % of the time), but at most :data:`_MAX_WAIT_NS`. So a root attached
  after load is found within 5 s (plus a scan) on ordinary pages and within a minute on any
  page. Roots already handed over are skipped (their backend ids are kept per recorder), and
  so until the next full snapshot are roots whose host the recorder does not record (its own
  banner, a host not serialized yet); at most :data:`_PER_SCAN` are handed over per scan.

Iframes: each document is scanned by its own recorder (a frame's document is not descended
into from its parent's).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target

log = structlog.get_logger(__name__)

_GROUP = "__st_closed_shadow"
_PER_SCAN = 200  # hosts checked / roots handed over per scan: a page cannot make one unbounded
_TAKE = (
    f"typeof globalThis.__st_takeHosts === 'function' ? globalThis.__st_takeHosts({_PER_SCAN}) : []"
)
_ADOPT = "function (root) { return globalThis.__st_closedShadow(this, root); }"
_DEPTH = 120  # tree levels per describeNode: up to 4 JSON levels each, the reader stops at 1024
_CALLS = 20  # describeNode calls per document scan
_EVERY_NS = 5_000_000_000  # document scans at most this often ...
_COST_FACTOR = 100  # ... and this many times their own duration apart ...
_MAX_WAIT_NS = 60_000_000_000  # ... but never longer apart than this
_KNOWN_CAP = 10_000  # root ids remembered per recorder; beyond, forgotten (handed over again)

Key = tuple[str, int]  # (CDP session, recorder's execution context)


@dataclass
class _DocScan:
    """One recorder's document scans: when the last ended, what it cost, what is left."""

    running: bool = False
    ended_ns: int | None = None
    cost_ns: int = 0
    todo: list[int] = field(default_factory=list)  # backend ids to continue from
    known: set[int] = field(default_factory=set)  # backend ids of roots handed over
    refused: set[int] = field(default_factory=set)  # ... whose host the recorder did not record

    def due(self, now_ns: int, snapshot: bool) -> bool:
        """Whether a scan may start now (after a full snapshot: as soon as its cost allows)."""
        if self.running:
            return False
        if self.ended_ns is None:
            return True
        wait = min(max(self.cost_ns * _COST_FACTOR, 0 if snapshot else _EVERY_NS), _MAX_WAIT_NS)
        return now_ns - self.ended_ns >= wait


def closed_in(tree: dict[str, Any]) -> tuple[list[tuple[int, int]], list[int]]:
    """In a ``DOM.describeNode`` answer: (host, closed root) backend ids, and the nodes whose
    children the answer left out (deeper than its depth). Frames' documents are skipped."""
    found: list[tuple[int, int]] = []
    cut: list[int] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for root in node.get("shadowRoots", ()):
            if root.get("shadowRootType") == "closed":
                found.append((int(node["backendNodeId"]), int(root["backendNodeId"])))
            stack.append(root)
        kids = node.get("children", ())
        if int(node.get("childNodeCount", 0)) > len(kids):
            cut.append(int(node["backendNodeId"]))
        stack.extend(reversed(kids))
    return found, cut


class ClosedShadow:
    """Finds closed shadow roots for the recorders that ask, and hands them over."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self._busy: set[Key] = set()  # recorders whose custom elements are being checked
        self._docs: dict[Key, _DocScan] = {}
        self.adopted = 0
        self.scans = 0  # document scans
        self.most_calls = 0  # the most describeNode calls one document scan made

    def batch(self, t: Target, context_id: int, hosts: int, snapshot: bool) -> None:
        """A batch from the recorder in ``context_id`` arrived: it holds ``hosts`` custom
        elements to check and, if ``snapshot``, a full snapshot."""
        if not self.ctx.cfg.closed_shadow_roots:
            return
        if hosts:
            self.hosts_pending(t, context_id)
        key = (t.session_id, context_id)
        st = self._docs.get(key)
        if st is None:
            self._forget_gone()
            st = self._docs[key] = _DocScan()
        if snapshot:
            # The recorder may record refused hosts now, and it forgot the roots of hosts that
            # were detached at the snapshot: a re-attached one must be offered again (a root
            # it still holds is answered "known", at the cost of two calls).
            st.refused.clear()
            st.known.clear()
        if st.due(self.ctx.clock.mono_ns(), snapshot):
            st.running = True
            self.ctx.tasks.spawn(self._doc_scan(t, context_id, st))

    def hosts_pending(self, t: Target, context_id: int) -> None:
        """The recorder in ``context_id`` holds custom elements to check."""
        if not self.ctx.cfg.closed_shadow_roots:
            return
        key = (t.session_id, context_id)
        if key in self._busy:
            return
        self._busy.add(key)
        self.ctx.tasks.spawn(self._scan(t, context_id, key))

    def _forget_gone(self) -> None:
        """Drop the scan state of recorders whose context or target is gone."""
        for sid, ctx_id in list(self._docs):
            t = self.ctx.targets.get(sid)
            if t is None or ctx_id not in t.recorders:
                del self._docs[(sid, ctx_id)]

    def _doc(self, key: Key) -> _DocScan:
        return self._docs.setdefault(key, _DocScan())

    async def _scan(self, t: Target, context_id: int, key: Key) -> None:
        sid = t.session_id
        try:
            for host, root in await self._closed_roots(sid, context_id):
                await self._adopt(sid, context_id, host, root, self._doc(key))
        except Exception as exc:  # the document went away meanwhile: its recorder too
            log.debug("capture.closed_shadow_failed", error=str(exc)[:200])
        finally:
            self._busy.discard(key)
            self.ctx.cdp.fire("Runtime.releaseObjectGroup", {"objectGroup": _GROUP}, sid)

    async def _closed_roots(self, sid: str, context_id: int) -> list[tuple[str, int]]:
        """(host object id, backend node id of its closed root) for each candidate host."""
        send = self.ctx.cdp.send
        take = {"expression": _TAKE, "contextId": context_id, "objectGroup": _GROUP}
        arr = (await send("Runtime.evaluate", take, sid, timeout=10)).get("result", {})
        if not arr.get("objectId"):
            return []
        props = await send(
            "Runtime.getProperties", {"objectId": arr["objectId"], "ownProperties": True}, sid
        )
        hosts = [
            str(p["value"]["objectId"])
            for p in props.get("result", [])
            if str(p.get("name", "")).isdigit() and p.get("value", {}).get("objectId")
        ]
        described = await asyncio.gather(
            *(send("DOM.describeNode", {"objectId": h}, sid, timeout=10) for h in hosts),
            return_exceptions=True,
        )
        found = []
        for host, d in zip(hosts, described, strict=True):
            if isinstance(d, BaseException):
                continue
            for root in d.get("node", {}).get("shadowRoots", []):
                if root.get("shadowRootType") == "closed":
                    found.append((host, int(root["backendNodeId"])))
        return found

    async def _doc_scan(self, t: Target, context_id: int, st: _DocScan) -> None:
        sid = t.session_id
        start = self.ctx.clock.mono_ns()
        try:
            found = await self._describe_document(sid, context_id, st)
            skip = st.known | st.refused
            fresh = [(h, r) for h, r in found if r not in skip][:_PER_SCAN]
            if len(skip) + len(fresh) > _KNOWN_CAP:
                st.known.clear()
                st.refused.clear()
            for host_id, root in fresh:
                host = await self._resolve(sid, context_id, host_id)
                await self._adopt(sid, context_id, host, root, st)
        except Exception as exc:  # the document went away meanwhile: its recorder too
            log.debug("capture.closed_shadow_scan_failed", error=str(exc)[:200])
        finally:
            st.running = False
            st.ended_ns = self.ctx.clock.mono_ns()
            st.cost_ns = st.ended_ns - start
            self.scans += 1
            self.ctx.cdp.fire("Runtime.releaseObjectGroup", {"objectGroup": _GROUP}, sid)

    async def _describe_document(
        self, sid: str, context_id: int, st: _DocScan
    ) -> list[tuple[int, int]]:
        """(host, closed root) backend ids in the recorder's document, or in what the last
        scan left of it; ``st.todo`` keeps what this one leaves."""
        send = self.ctx.cdp.send
        found: list[tuple[int, int]] = []
        calls = 0
        params: dict[str, Any] = {"depth": _DEPTH, "pierce": True}
        if not st.todo:
            doc = {"expression": "document", "contextId": context_id, "objectGroup": _GROUP}
            res = (await send("Runtime.evaluate", doc, sid, timeout=10)).get("result", {})
            st.todo = [-1] if res.get("objectId") else []
            params["objectId"] = res.get("objectId")
        for _ in range(_CALLS):
            if not st.todo:
                break
            node = st.todo.pop()
            if node != -1:
                params = {"backendNodeId": node, "depth": _DEPTH, "pierce": True}
            calls += 1
            self.most_calls = max(self.most_calls, calls)
            try:
                tree = (await send("DOM.describeNode", params, sid, timeout=10))["node"]
            except Exception as exc:  # that node went away meanwhile
                log.debug("capture.closed_shadow_describe_failed", error=str(exc)[:200])
                continue
            more, cut = closed_in(tree)
            found += more
            st.todo += reversed(cut)
        return found

    async def _resolve(self, sid: str, context_id: int, backend_id: int) -> str:
        """The node's remote object id in the recorder's isolated world."""
        resolve: dict[str, Any] = {
            "backendNodeId": backend_id,
            "executionContextId": context_id,
            "objectGroup": _GROUP,
        }
        res = await self.ctx.cdp.send("DOM.resolveNode", resolve, sid, timeout=10)
        return str(res["object"]["objectId"])

    async def _adopt(
        self, sid: str, context_id: int, host: str, backend_id: int, st: _DocScan
    ) -> None:
        """Hand the root over; the recorder answers true (recorded from now on), false (known
        already) or null (it does not record the host: asked again after a full snapshot)."""
        root = await self._resolve(sid, context_id, backend_id)
        call: dict[str, Any] = {
            "functionDeclaration": _ADOPT,
            "objectId": host,
            "arguments": [{"objectId": root}],
            "returnByValue": True,
        }
        res = await self.ctx.cdp.send("Runtime.callFunctionOn", call, sid, timeout=10)
        answer = res.get("result", {}).get("value")
        (st.refused if answer is None else st.known).add(backend_id)
        if answer is True:
            self.adopted += 1
