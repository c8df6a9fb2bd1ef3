"""Real-shaped event payloads (copied from a recording of the demo app) for index tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.config import Config
from agent.events import Event, Record
from agent.journal.session import SessionMeta
from agent.rrweb import EventType, IncrementalSource, MouseInteraction, NodeType
from agent.testing import FakeClock
from tests.journals import EventSpec, write_scripted_session

PAGE = "873D511386184014B2A05D0E380B74A1"
WIDGET = "038F322FFB0822B37142DB4CF0EDA6B3"
T0 = 1_795_696_908_189_501_547


def el(
    nid: int, tag: str, attrs: dict[str, Any] | None = None, *children: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": nid,
        "type": NodeType.ELEMENT,
        "tagName": tag,
        "attributes": attrs or {},
        "childNodes": list(children),
    }


def tx(nid: int, text: str) -> dict[str, Any]:
    return {"id": nid, "type": NodeType.TEXT, "textContent": text}


def _order_form() -> dict[str, Any]:
    """The order ticket's form: symbol (pre-filled), account, buttons, PIN, a price."""
    return el(
        13,
        "form",
        {"autocomplete": "off", "id": "order-form"},
        el(
            14,
            "label",
            {},
            tx(15, "Symbol"),
            el(16, "input", {"id": "symbol", "name": "symbol", "value": "tok_6d03fdda77b0d41c"}),
        ),
        el(
            17,
            "label",
            {},
            tx(18, "Account"),
            el(19, "input", {"id": "order-account", "name": "account"}),
        ),
        el(
            20,
            "div",
            {"class": "buttons"},
            el(21, "button", {"id": "send-ws", "type": "button"}, tx(22, "Send (WS)")),
            el(23, "button", {"type": "button"}, tx(24, "Cancel all")),
        ),
        el(25, "label", {"for": "pin"}, tx(26, "Supervisor PIN")),
        el(27, "input", {"id": "pin", "type": "password"}),
        el(28, "span", {}, tx(29, "412.50")),
    )


def ticket_dom() -> dict[str, Any]:
    """The demo's order ticket and lookup form, as rrweb serialises them."""
    ticket = el(
        10,
        "section",
        {"class": "card", "id": "ticket-section"},
        el(11, "h2", {}, tx(12, "Order ticket")),
        _order_form(),
    )
    head = el(3, "head", {}, el(4, "title", {}, tx(5, "sessiontape demo - trading")))
    body = el(6, "body", {}, ticket, el(30, "script", {}, tx(31, "var secret = 1;")))
    return {"type": NodeType.DOCUMENT, "id": 1, "childNodes": [el(2, "html", {}, head, body)]}


def full_snapshot(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": EventType.FULL_SNAPSHOT,
        "data": {"node": node, "initialOffset": {"left": 0, "top": 0}},
        "timestamp": T0 // 1_000_000,
    }


def meta(href: str) -> dict[str, Any]:
    return {
        "type": EventType.META,
        "data": {"href": href, "width": 1280, "height": 800},
        "timestamp": T0 // 1_000_000,
    }


def click(nid: int, kind: int = MouseInteraction.CLICK) -> dict[str, Any]:
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT,
        "data": {
            "source": IncrementalSource.MOUSE_INTERACTION,
            "type": kind,
            "id": nid,
            "x": 765,
            "y": 377,
        },
        "timestamp": T0 // 1_000_000,
    }


def rr_input(nid: int, text: str) -> dict[str, Any]:
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT,
        "data": {"source": IncrementalSource.INPUT, "id": nid, "text": text, "isChecked": False},
        "timestamp": T0 // 1_000_000,
    }


def mutation(
    adds: list[dict[str, Any]] | None = None,
    texts: list[dict[str, Any]] | None = None,
    removes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT,
        "data": {
            "source": IncrementalSource.MUTATION,
            "adds": adds or [],
            "texts": texts or [],
            "removes": removes or [],
            "attributes": [],
        },
        "timestamp": T0 // 1_000_000,
    }


def ws_sent_order(account: str = "tok_3f976b5bcfce2c06") -> dict[str, Any]:
    return {
        "direction": "sent",
        "opcode": 1,
        "request_id": "16821.16",
        "size": 124,
        "data": '{"type":"order","client_ref":"R1","symbol":"MSFT","side":"BUY",'
        f'"quantity":"100","price":"412.50","account":"{account}"}}',
    }


def ws_tick() -> dict[str, Any]:
    cells = ", ".join(f'[{i}, 3, "{100 + i}.25"]' for i in range(200))
    return {
        "direction": "received",
        "opcode": 1,
        "request_id": "16821.16",
        "size": 4000,
        "data": '{"type": "tick", "tick": 7, "cells": [' + cells + "]}",
    }


def lookup_request(url: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": url,
        "resource_type": "Fetch",
        "headers": {"Content-Type": "application/json", "Authorization": "[redacted]"},
        "post_data": '{"client_name":"Jane Q. Sample","ssn":"tok_7af626da584423f8",'
        '"account":"tok_1b0291152bfb9d97","notes":"wire 250k to '
        'tok_1b0291152bfb9d97","pin":"[redacted]"}',
        "post_data_masked": True,
    }


def order_response(url: str) -> dict[str, Any]:
    return {
        "status": 200,
        "status_text": "OK",
        "url": url,
        "mime": "application/json",
        "body": '{"order_id": "RS-000002", "status": "accepted"}',
        "body_encoding": "text",
        "body_size": 47,
        "resource_type": "Fetch",
    }


def rec(
    seq: int,
    kind: str,
    payload: dict[str, Any],
    *,
    page: str | None = PAGE,
    frame: str | None = PAGE,
    dt_ms: int = 0,
) -> Record:
    return Record(
        seq=seq,
        t_utc_ns=T0 + seq * 1_000_000 + dt_ms * 1_000_000,
        t_mono_ns=seq,
        kind=kind,
        payload=payload,
        page=page,
        frame=frame,
        chunk=0,
        segment="s",
    )


def event(
    kind: str,
    payload: dict[str, Any],
    t_ns: int,
    *,
    page: str | None = PAGE,
    frame: str | None = PAGE,
) -> Event:
    return Event(kind, payload, t_ns, t_ns, page=page, frame=frame)


APP = "http://127.0.0.1:36775/app"
TRADER = SessionMeta(user="trader1", workstation="ws-7")


def ticket_segments() -> list[list[EventSpec]]:
    """Three segments of a trader at the order ticket: navigation and the ticket's keyframe;
    typing an account and sending the order (no keyframe); a click on a button first seen in
    segment one's keyframe, and a console error."""
    return [
        [
            ("page.navigate", {"url": APP, "main_frame": True}, "P"),
            ("rrweb.meta", meta(APP), "F"),
            ("rrweb.full_snapshot", full_snapshot(ticket_dom()), "F"),
        ],
        [
            ("rrweb.input", rr_input(19, "tok_1b0291152bfb9d97"), "F"),
            ("net.ws_frame", ws_sent_order("tok_1b0291152bfb9d97"), None),
        ],
        [
            ("rrweb.mouse_interaction", click(22), "F"),
            ("page.console", {"level": "error", "text": "margin check failed"}, "F"),
        ],
    ]


def ticket_session(home: Path, cfg: Config, clock: FakeClock) -> str:
    """The closed three-segment :func:`ticket_segments` session of ``TRADER``; its id."""
    return write_scripted_session(home, cfg, clock, ticket_segments(), meta=TRADER).session_id
