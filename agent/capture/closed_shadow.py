"""Closed shadow roots, recorded through the agent's CDP (page JavaScript, and so any in-page
recorder, cannot see them: ``host.shadowRoot`` is null).

The recorder notes every custom element it serializes (a tag with a hyphen: where closed
roots live) and says in its next batch that it holds some (``"hosts": k``). Capture then
takes them from the recorder's world (``__st_takeHosts``, the array as a remote object), asks
the browser which of them hold a closed root (``DOM.describeNode``: the node and its shadow
roots' types and backend ids, nothing pushed to the client, no DOM events enabled by it),
resolves each closed ``ShadowRoot`` into the recorder's isolated world (``DOM.resolveNode``
with that world's execution context) and hands it over (``Runtime.callFunctionOn`` on the
host with the root as argument, ``__st_closedShadow``). The recorder records it like an open
root, with its own MutationObserver, sends its content again after every full snapshot and
marks its top nodes ``closed: true``; the replay shows an open root.

Cost: one ``describeNode`` per custom element, once (a new element or one defined later);
pages without custom elements cost nothing. One scan per recorder runs at a time and checks
at most 200 elements; the others (and elements noted meanwhile) are taken by the next scan,
which the recorder's next batch triggers.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext
    from agent.capture.state import Target

log = structlog.get_logger(__name__)

_GROUP = "__st_closed_shadow"
_PER_SCAN = 200  # hosts checked per scan: a page cannot make one scan unbounded
_TAKE = (
    f"typeof globalThis.__st_takeHosts === 'function' ? globalThis.__st_takeHosts({_PER_SCAN}) : []"
)
_ADOPT = "function (root) { return globalThis.__st_closedShadow(this, root); }"


class ClosedShadow:
    """Finds closed shadow roots for the recorders that ask, and hands them over."""

    def __init__(self, ctx: CaptureContext) -> None:
        self.ctx = ctx
        self._busy: set[tuple[str, int]] = set()  # (session, recorder context) being scanned
        self.adopted = 0

    def hosts_pending(self, t: Target, context_id: int) -> None:
        """The recorder in ``context_id`` holds custom elements to check."""
        if not self.ctx.cfg.closed_shadow_roots:
            return
        key = (t.session_id, context_id)
        if key in self._busy:
            return
        self._busy.add(key)
        self.ctx.tasks.spawn(self._scan(t, context_id, key))

    async def _scan(self, t: Target, context_id: int, key: tuple[str, int]) -> None:
        sid = t.session_id
        try:
            for host, root in await self._closed_roots(sid, context_id):
                await self._adopt(sid, context_id, host, root)
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

    async def _adopt(self, sid: str, context_id: int, host: str, backend_id: int) -> None:
        send = self.ctx.cdp.send
        resolve: dict[str, Any] = {
            "backendNodeId": backend_id,
            "executionContextId": context_id,
            "objectGroup": _GROUP,
        }
        root = (await send("DOM.resolveNode", resolve, sid, timeout=10))["object"]["objectId"]
        call: dict[str, Any] = {
            "functionDeclaration": _ADOPT,
            "objectId": host,
            "arguments": [{"objectId": root}],
            "returnByValue": True,
        }
        res = await send("Runtime.callFunctionOn", call, sid, timeout=10)
        if res.get("result", {}).get("value") is True:
            self.adopted += 1
