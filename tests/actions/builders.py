"""Hand-built journal records for derivation tests: a seq/time counter and the payloads the
recorder and the capture write (with or without the recorder's ``element`` description)."""

from __future__ import annotations

from typing import Any

from agent.events import Record
from agent.rrweb import EventType, IncrementalSource, MouseInteraction, NodeType

T0 = 1_800_000_000_000_000_000


def element(
    name: str,
    node_id: int,
    *,
    role: str = "textbox",
    tag: str = "input",
    form: str = "Order ticket",
    **kw: str,
) -> dict[str, Any]:
    """The recorder's description of an element."""
    return {
        "role": role,
        "name": name,
        "tag": tag,
        "element_id": kw.get("element_id", ""),
        "test_id": "",
        "css": kw.get("css", f"{tag}#n{node_id}"),
        "form": form,
        "region": form,
        "node_id": node_id,
        "name_from": "label",
    }


class Script:
    """Records in order, 10 ms apart, on page/frame ``P``."""

    def __init__(self, page: str = "P") -> None:
        self.page = page
        self.records: list[Record] = []

    def add(
        self, kind: str, payload: dict[str, Any], *, page: str | None = None, dt_ms: int = 10
    ) -> Record:
        """Append one record."""
        seq = len(self.records)
        t = (self.records[-1].t_utc_ns if self.records else T0) + dt_ms * 1_000_000
        pg = page or self.page
        r = Record(seq, t, 0, kind, payload, pg, pg, 0, "s")
        self.records.append(r)
        return r

    def click(
        self,
        nid: int,
        el: dict[str, Any] | None = None,
        aid: str | None = None,
        typ: int = MouseInteraction.CLICK,
    ) -> Record:
        """A mouse interaction (a click unless ``typ`` says otherwise)."""
        p: dict[str, Any] = {
            "type": EventType.INCREMENTAL_SNAPSHOT,
            "data": {
                "source": IncrementalSource.MOUSE_INTERACTION,
                "type": typ,
                "id": nid,
                "x": 5,
                "y": 6,
            },
        }
        if el is not None:
            p["element"] = el
        if aid:
            p["action_id"] = aid
        return self.add("rrweb.mouse_interaction", p)

    def value(
        self, nid: int, text: str, el: dict[str, Any] | None = None, checked: bool = False
    ) -> Record:
        """An rrweb Input event."""
        p: dict[str, Any] = {
            "type": EventType.INCREMENTAL_SNAPSHOT,
            "data": {
                "source": IncrementalSource.INPUT,
                "id": nid,
                "text": text,
                "isChecked": checked,
            },
        }
        if el is not None:
            p["element"] = el
        return self.add("rrweb.input", p)

    def key(
        self,
        nid: int,
        key: str,
        *,
        ctrl: bool = False,
        aid: str | None = None,
        el: dict[str, Any] | None = None,
    ) -> Record:
        """An ``input.key`` event."""
        p: dict[str, Any] = {
            "key": key,
            "code": key,
            "ctrl": ctrl,
            "alt": False,
            "meta": False,
            "shift": False,
            "target": nid,
            "selector": f"input#n{nid}",
        }
        if aid:
            p["action_id"] = aid
        if el is not None:
            p["element"] = el
        return self.add("input.key", p)

    def request(
        self, rid: str, url: str, aid: str | None, status: int | None = 200, failed: str = ""
    ) -> None:
        """A request caused by ``aid`` and its response (or failure)."""
        cause = {"action_id": aid, "page": self.page} if aid else None
        self.add("net.request", {"request_id": rid, "method": "POST", "url": url, "cause": cause})
        if failed:
            self.add("net.failed", {"request_id": rid, "error": failed})
        else:
            self.add("net.response", {"request_id": rid, "status": status, "url": url})

    def type_word(self, nid: int, word: str, el: dict[str, Any] | None) -> None:
        """Keys and value changes for each character, the first value change described."""
        for i, _ in enumerate(word):
            self.key(nid, word[i])
            self.value(nid, word[: i + 1], el if i == 0 else None)


def snapshot(children: list[dict[str, Any]]) -> dict[str, Any]:
    """An rrweb full snapshot payload of ``<html><body>children</body></html>``."""
    body = {
        "type": NodeType.ELEMENT,
        "id": 3,
        "tagName": "body",
        "attributes": {},
        "childNodes": children,
    }
    html = {
        "type": NodeType.ELEMENT,
        "id": 2,
        "tagName": "html",
        "attributes": {},
        "childNodes": [body],
    }
    node = {"type": NodeType.DOCUMENT, "id": 1, "childNodes": [html]}
    return {"type": EventType.FULL_SNAPSHOT, "data": {"node": node}}


def el(nid: int, tag: str, attrs: dict[str, str], *children: dict[str, Any]) -> dict[str, Any]:
    """A serialized element."""
    return {
        "type": NodeType.ELEMENT,
        "id": nid,
        "tagName": tag,
        "attributes": attrs,
        "childNodes": list(children),
    }


def text(nid: int, s: str) -> dict[str, Any]:
    """A serialized text node."""
    return {"type": NodeType.TEXT, "id": nid, "textContent": s}
