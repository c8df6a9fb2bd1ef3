"""Test helpers for the mask stage (re-exported from ``agent.testing`` by the lead).

* :func:`build_masker` - a Masker from the shipped rules plus extra TOML, with a fixed key.
* :func:`rr_snapshot`, :func:`rr_mutation`, :func:`rr_input` - rrweb 2.x event payloads.
"""

from __future__ import annotations

import tomllib
from typing import Any

from agent.mask.masker import Masker
from agent.mask.rules import default_rules_path, parse_rules
from agent.rrweb import EventType, IncrementalSource, NodeType
from agent.tomlfile import read_toml

TEST_HMAC_KEY = bytes(range(32))


def build_masker(
    extra_toml: str = "",
    *,
    key: bytes = TEST_HMAC_KEY,
    escrow_public_key: str = "",
    replace_rules: bool = False,
) -> Masker:
    """A Masker: shipped rules (unless ``replace_rules``) + ``extra_toml`` rules."""
    base = read_toml(default_rules_path(), "masking rules file")
    extra = tomllib.loads(extra_toml) if extra_toml else {}
    if replace_rules:
        base["rules"] = []
    base["rules"] = base.get("rules", []) + extra.get("rules", [])
    for section in ("defaults", "escrow"):
        if section in extra:
            base[section] = {**base.get(section, {}), **extra[section]}
    if escrow_public_key:
        base["escrow"] = {
            **base.get("escrow", {}),
            "public_key": escrow_public_key,
            "officer": "test officer",
        }
    return Masker.build(parse_rules(base, "<test>"), key)


def rr_snapshot(*children: dict[str, Any]) -> dict[str, Any]:
    """An rrweb FullSnapshot whose body holds ``children``."""
    return {
        "type": EventType.FULL_SNAPSHOT.value,
        "timestamp": 1,
        "data": {
            "initialOffset": {"left": 0, "top": 0},
            "node": {
                "type": NodeType.DOCUMENT.value,
                "id": 1,
                "childNodes": [
                    {
                        "type": NodeType.ELEMENT.value,
                        "id": 2,
                        "tagName": "body",
                        "attributes": {},
                        "childNodes": list(children),
                    }
                ],
            },
        },
    }


def el(
    nid: int, tag: str, attrs: dict[str, Any] | None = None, *children: dict[str, Any]
) -> dict[str, Any]:
    """A serialized rrweb element node."""
    return {
        "type": NodeType.ELEMENT.value,
        "id": nid,
        "tagName": tag,
        "attributes": attrs or {},
        "childNodes": list(children),
    }


def text(nid: int, content: str) -> dict[str, Any]:
    """A serialized rrweb text node."""
    return {"type": NodeType.TEXT.value, "id": nid, "textContent": content}


def rr_mutation(
    texts: list[dict[str, Any]] | None = None,
    attributes: list[dict[str, Any]] | None = None,
    adds: list[dict[str, Any]] | None = None,
    removes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An rrweb Mutation event."""
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT.value,
        "timestamp": 2,
        "data": {
            "source": IncrementalSource.MUTATION.value,
            "texts": texts or [],
            "attributes": attributes or [],
            "removes": removes or [],
            "adds": adds or [],
        },
    }


def rr_input(nid: int, value: str) -> dict[str, Any]:
    """An rrweb Input event."""
    return {
        "type": EventType.INCREMENTAL_SNAPSHOT.value,
        "timestamp": 3,
        "data": {
            "source": IncrementalSource.INPUT.value,
            "id": nid,
            "text": value,
            "isChecked": False,
        },
    }
