"""A mutation's text and attribute changes held as columns instead of a dict per change.

A live grid's rrweb mutations are a thousand ``{"id": N, "value": "123.45"}`` texts and
hundreds of ``{"id": N, "attributes": {"class": "up"}}`` changes per update. The recorder
sends them as columns (see ``recorder_js/src/queue.js``), the agent keeps them as columns from
the binding to the chunk encoder, and a reader may decode them as columns
(``iter_records(columns=True)``): no dict is made per change unless someone iterates.

Both classes mean exactly the rrweb list they stand for: iterating gives its items (fresh
dicts, in order), ``len`` its length, and :func:`json_default` writes that list wherever an
event is serialised (:func:`agent.canonical.record_bytes`). They are read only: code that
changes a mutation builds a new list (``list(texts)``), as the masker does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


class TextColumns:
    """A mutation's ``texts``: node ids and values (a string, or None for a removed text)."""

    __slots__ = ("ids", "values")

    def __init__(self, ids: list[int], values: list[str | None]) -> None:
        self.ids = ids
        self.values = values

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return ({"id": i, "value": v} for i, v in zip(self.ids, self.values, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TextColumns):
            return self.ids == other.ids and self.values == other.values
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable lists inside

    def __repr__(self) -> str:
        return repr(list(self))  # the rrweb list it stands for


class AttrColumns:
    """A mutation's ``attributes``: element ids and their changed-attribute objects (shared
    between changes: read them, never change them; iterating gives copies)."""

    __slots__ = ("ids", "objs")

    def __init__(self, ids: list[int], objs: list[dict[str, Any]]) -> None:
        self.ids = ids
        self.objs = objs

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (
            {"id": i, "attributes": dict(o) if type(o) is dict else o}
            for i, o in zip(self.ids, self.objs, strict=True)
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AttrColumns):
            return self.ids == other.ids and self.objs == other.objs
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


def json_default(obj: Any) -> list[dict[str, Any]]:
    """``orjson``'s ``default``: columns are written as the rrweb list they stand for."""
    if isinstance(obj, TextColumns | AttrColumns):
        return list(obj)
    raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")
