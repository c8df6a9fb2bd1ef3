"""The shape of a JSON value - keys, types, the shape of array elements; never the values -
and the differences between a recorded response's shape and a re-driven one's.

A shape is ``"string"``, ``"number"``, ``"boolean"``, ``"null"``, ``{"object": {key:
shape}}`` or ``{"array": shape | None}`` (``None``: no element to tell by). The elements of
an array are merged into one shape: an object element has every key any element has; a
key that some elements lack, or elements of different types, make ``"mixed"``, which
matches anything (a list whose items vary is not a changed API).
"""

from __future__ import annotations

import json
from typing import Any

Shape = Any
MIXED = "mixed"
MISSING = "missing"


def shape_of(value: Any) -> Shape:
    """The shape of a decoded JSON value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return {"object": {str(k): shape_of(v) for k, v in value.items()}}
    if isinstance(value, list):
        elem: Shape = None
        for i, v in enumerate(value):
            elem = shape_of(v) if i == 0 else _merge(elem, shape_of(v))
        return {"array": elem}
    return MIXED


def _merge(a: Shape, b: Shape) -> Shape:
    """One shape for two array elements."""
    if a == b:
        return a
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        if "object" in a:
            keys = a["object"].keys() | b["object"].keys()
            both = a["object"].keys() & b["object"].keys()
            return {"object": {k: _merge(a["object"][k], b["object"][k]) if k in both
                               else MIXED for k in sorted(keys)}}  # fmt: skip
        if a["array"] is None or b["array"] is None:
            return {"array": a["array"] if b["array"] is None else b["array"]}
        return {"array": _merge(a["array"], b["array"])}
    return MIXED


def describe(s: Shape) -> str:
    """A shape's type in one word (``object``, ``array``, ``string``...)."""
    if isinstance(s, dict):
        return "object" if "object" in s else "array"
    return str(s)


def shape_diff(recorded: Shape, now: Shape, path: str = "$") -> list[str]:
    """One line per difference: ``$.orders[].status: string -> missing``."""
    if MIXED in (recorded, now) or recorded == now:
        return []
    if describe(recorded) != describe(now):
        return [f"{path}: {describe(recorded)} -> {describe(now)}"]
    if "object" in recorded:
        ro, no = recorded["object"], now["object"]
        out: list[str] = []
        for k in sorted(ro.keys() | no.keys()):
            sub = f"{path}.{k}"
            if MIXED in (ro.get(k), no.get(k)):
                continue  # an optional key of array elements
            if k not in no:
                out.append(f"{sub}: {describe(ro[k])} -> {MISSING}")
            elif k not in ro:
                out.append(f"{sub}: {MISSING} -> {describe(no[k])}")
            else:
                out.extend(shape_diff(ro[k], no[k], sub))
        return out
    if recorded["array"] is None or now["array"] is None:
        return []  # an empty list says nothing about its elements
    return shape_diff(recorded["array"], now["array"], f"{path}[]")


def json_shape(text: str) -> Shape | None:
    """The shape of a JSON document, or None when ``text`` is not JSON."""
    try:
        return shape_of(json.loads(text))
    except ValueError:
        return None


def recorded_shapes(records: list[Any]) -> dict[int, Shape]:
    """The shape of every recorded JSON response body (whole, not cut at the capture's cap),
    by the seq of its ``net.request``."""
    seq_of: dict[str, int] = {}
    out: dict[int, Shape] = {}
    for r in records:
        p = r.payload
        rid = str(p.get("request_id") or "")
        if r.kind == "net.request" and rid:
            seq_of.setdefault(rid, r.seq)
        elif r.kind == "net.response" and rid in seq_of:
            body = p.get("body")
            if (
                isinstance(body, str)
                and "json" in str(p.get("mime") or "").lower()
                and p.get("body_encoding") == "text"
                and not p.get("body_truncated")
            ):
                s = json_shape(body)
                if s is not None:
                    out[seq_of[rid]] = s
    return out
