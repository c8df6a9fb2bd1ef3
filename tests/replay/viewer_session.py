"""A small scripted session for the viewer tests: one page (a 1000 x 600 viewport), four
clicks that each change a heading, a failed request, a dialog, a capture gap and a masked
input - every kind of mark the timeline bar draws - written through the real journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.config import load_config
from agent.keys import Keyring
from agent.rrweb import EventType, IncrementalSource, MouseInteraction, NodeType
from agent.testing import FakeClock
from tests.journals import EventSpec, write_scripted_session

WIDTH, HEIGHT = 1000, 600
"""The recorded viewport."""
HEADING_TEXT = 21
"""rrweb node id of the heading's text, which each click changes."""
BUTTON = 30
T0 = 1_700_000_000_000


def _el(nid: int, tag: str, attrs: dict[str, str], kids: list[Any] | None = None) -> Any:
    return {
        "type": NodeType.ELEMENT,
        "tagName": tag,
        "attributes": attrs,
        "childNodes": kids or [],
        "id": nid,
    }


def _document() -> Any:
    style = "margin:0;width:1000px;height:600px;background:#cde"
    heading = _el(
        20, "h1", {"id": "h"}, [{"type": NodeType.TEXT, "textContent": "start", "id": HEADING_TEXT}]
    )
    button = _el(
        BUTTON, "button", {"id": "b"}, [{"type": NodeType.TEXT, "textContent": "Send", "id": 31}]
    )
    body = _el(5, "body", {"style": style}, [heading, button])
    return {
        "type": NodeType.DOCUMENT,
        "id": 1,
        "childNodes": [
            {
                "type": NodeType.DOCUMENT_TYPE,
                "name": "html",
                "publicId": "",
                "systemId": "",
                "id": 2,
            },
            _el(3, "html", {}, [_el(4, "head", {}), body]),
        ],
    }


def _rr(kind: str, etype: int, data: dict[str, Any], ts: int) -> EventSpec:
    return (kind, {"type": etype, "data": data, "timestamp": ts}, "P")


def _click(n: int, ts: int) -> list[EventSpec]:
    """A click on the button (action ``a<n>``), then the heading says ``clicked <n>``."""
    click = {
        "source": IncrementalSource.MOUSE_INTERACTION,
        "type": MouseInteraction.CLICK,
        "id": BUTTON,
        "x": 40,
        "y": 80,
    }
    text = {
        "source": IncrementalSource.MUTATION,
        "texts": [{"id": HEADING_TEXT, "value": f"clicked {n}"}],
        "attributes": [],
        "removes": [],
        "adds": [],
    }
    kind, payload, frame = _rr("rrweb.mouse_interaction", EventType.INCREMENTAL_SNAPSHOT, click, ts)
    return [
        (kind, {**payload, "action_id": f"a{n}"}, frame),
        _rr("rrweb.mutation", EventType.INCREMENTAL_SNAPSHOT, text, ts + 50),
    ]


def viewer_events() -> list[EventSpec]:
    """Meta + full snapshot, then clicks, a 500 response, a dialog, a gap, a masked input."""
    base = FakeClock().utc_ns()
    evs: list[EventSpec] = [
        _rr(
            "rrweb.meta",
            EventType.META,
            {"href": "https://app.example/", "width": WIDTH, "height": HEIGHT},
            T0,
        ),
        _rr(
            "rrweb.full_snapshot",
            EventType.FULL_SNAPSHOT,
            {"node": _document(), "initialOffset": {"left": 0, "top": 0}},
            T0 + 1,
        ),
    ]
    evs += _click(1, T0 + 1000)
    evs += [
        (
            "net.request",
            {
                "request_id": "r1",
                "method": "POST",
                "url": "https://app.example/order",
                "cause": {"action_id": "a1"},
            },
            "P",
        ),
        (
            "net.response",
            {"request_id": "r1", "status": 500, "url": "https://app.example/order"},
            "P",
        ),
    ]
    evs += _click(2, T0 + 3000)
    evs += [
        ("page.dialog", {"type": "alert", "phase": "opened", "message": "Order rejected"}, "P"),
        (
            "capture.gap",
            {"cause": "test", "start": base + 1_000_000_000, "end": base + 2_000_000_000},
            "P",
        ),
        ("input.key", {"key": "5", "selector": "#ssn", "value": "[redacted]"}, "P"),
    ]
    evs += _click(3, T0 + 6000)
    evs += _click(4, T0 + 8000)
    return evs


def write_viewer_session(home: Path) -> str:
    """Write the session into a new state dir ``home``; return its id."""
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    return write_scripted_session(home, cfg, FakeClock(), [viewer_events()]).session_id
