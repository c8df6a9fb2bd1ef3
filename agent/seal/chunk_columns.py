"""Version 3's writer: collects a chunk's text and attribute columns while the records are
rewritten, and lays out the body's sections (the format: :mod:`agent.seal.chunk_pack`).

A grid's lists go through :mod:`agent.seal.chunk_items` (whole-list checks, a value cache);
any list those checks do not take goes item by item, to the same bytes.
"""

from __future__ import annotations

from itertools import repeat
from operator import lt, sub
from typing import Any

from agent.canonical import record_bytes
from agent.mutation_columns import TextColumns
from agent.seal._packc import first_places, known_columns
from agent.seal.chunk_items import Values, plain_text_columns, plain_texts
from agent.seal.chunk_pack import DECIMAL, NULL, STRING, decimal_column, pack, varint

_PLUS_ONE = (1).__add__
_SHARED = 16  # distinct attribute objects in a list coded once each, not once per change
_ROUNDS = 8  # lookups of a list's rest after a new attribute object, then one step per miss
_RUNS = ["", *("0" * (k - 1) + "1" for k in range(1, 257))]  # a code k as bits, k < 257


def _packed(*columns: list[int]) -> bytearray:
    """The columns' packed groups, one column after the other."""
    out = bytearray()
    for values in columns:
        pack(out, values)
    return out


class AttrColumns:
    """Attribute changes coded against the texts of the same chunk and a table of values."""

    def __init__(self) -> None:
        self.codes: list[int] = []  # and ``values``: one per attribute change
        self.values: list[int] = []
        self.ids = bytearray()
        self.table: list[dict[str, Any]] = []
        self.index: dict[tuple[tuple[str, Any], ...], int] = {}
        self.escaped: list[Any] = []

    def add(
        self, ids: list[int], objs: list[dict[str, Any]], first: dict[int, int], prev: int
    ) -> int:
        """Code the changes of elements ``ids`` to ``objs``; ``first`` maps a text id (element
        id + 1) to the position of its first text in the chunk; ``prev`` is the position of
        the previous coded text. Returns the new ``prev``."""
        prev = self._place(ids, first, prev)
        refs = list(map(id, objs))
        shared: dict[int, int] = dict.fromkeys(refs, 0)
        if len(shared) <= _SHARED and self._shared(shared, objs, refs):
            self.values += map(shared.__getitem__, refs)
            return prev
        index = self.index
        keys = list(map(tuple, map(dict.items, objs)))
        try:
            found = list(map(index.get, keys))
        except TypeError:  # a value that is a list or an object: one at a time
            self.values += map(self._value, objs, keys)
            return prev
        self.values += self._fill(found, objs, keys)
        return prev

    def _shared(self, shared: dict[int, int], objs: list[dict[str, Any]], refs: list[int]) -> bool:
        """Code each of a few objects shared by many changes (the recorder sends a grid's
        class flips as a handful of objects, ``shared`` maps their ``id()``) once, in
        first-use order, into ``shared``; False at the first that is not plain (the caller
        codes the list one change at a time, to the same bytes: the table entries added
        here are the ones it would add first, in the same order)."""
        for ref in shared:
            obj = objs[refs.index(ref)]
            key = tuple(obj.items())
            try:
                known = key in self.index
            except TypeError:  # a value that is a list or an object
                return False
            if not (known or _plain(obj)):
                return False  # it would be escaped: once per change, by the caller
            shared[ref] = self._value(obj, key)
        return True

    def _fill(
        self, found: list[int | None], objs: list[dict[str, Any]], keys: list[Any]
    ) -> list[int]:
        """``found`` with each miss (None) coded in order. A new object also fills its later
        copies, so the rest is looked up again: a round per new object for a grid's few
        classes; past :data:`_ROUNDS` rounds, one step per miss."""
        rounds, index = 0, self.index
        while None in found:
            j = found.index(None)
            found[j] = self._value(objs[j], keys[j])
            rounds += 1
            if rounds == _ROUNDS:
                for j in [j for j, k in enumerate(found) if k is None]:
                    found[j] = self._value(objs[j], keys[j])
                break
            found[j + 1 :] = map(index.get, keys[j + 1 :])
        return found  # type: ignore[return-value]  # no None left

    def _place(self, ids: list[int], first: dict[int, int], prev: int) -> int:
        """Append the codes of ``ids``: their texts' places after ``prev``, else 0 and the id."""
        places = list(map(first.get, map(_PLUS_ONE, ids), repeat(-1)))
        if places[0] > prev and all(map(lt, places, places[1:])):  # each after the one before
            self.codes += map(sub, places, [prev, *places])
            return places[-1]
        codes, out = self.codes, self.ids
        for node, j in zip(ids, places, strict=True):
            if j > prev:
                codes.append(j - prev)
                prev = j
            else:
                codes.append(0)
                varint(out, node)
        return prev

    def _value(self, obj: dict[str, Any], key: tuple[tuple[str, Any], ...]) -> int:
        """The value code of ``obj``: its table entry (added when new and plain), or 0 and
        ``obj`` escaped."""
        index = self.index
        try:
            k = index.get(key)
        except TypeError:  # a value that is a list or an object: escaped
            k = None
        if k is None and _plain(obj):
            self.table.append(obj)
            k = index[key] = len(self.table)
        if k is None:
            self.escaped.append(obj)
            return 0
        return k

    def sections(self, out: bytearray) -> None:
        for part in (_codes(self.codes), self.ids, _packed(self.values)):
            varint(out, len(part))
            out += part
        js = record_bytes([self.table, self.escaped]) if self.table or self.escaped else b""
        varint(out, len(js))
        out += js


def _codes(codes: list[int]) -> bytearray:
    """The attribute codes: ``0x01`` ‖ a bitmap, each code k as k-1 zero bits and a one
    (most codes are 1 or 2: a bit or two each), unless one is 0 (``0x00`` ‖ packed)."""
    if not codes or 0 in codes:
        return bytearray([0]) + _packed(codes)
    if max(codes) < len(_RUNS):
        bits = "".join(map(_RUNS.__getitem__, codes))
    else:
        bits = "".join("0" * (k - 1) + "1" for k in codes)
    return bytearray([1]) + int(bits[::-1], 2).to_bytes((len(bits) + 7) // 8, "little")


def _plain(obj: dict[str, Any]) -> bool:
    """Every value is a string or null: equal tuples of items then mean equal objects."""
    return all(type(v) is str or v is None for v in obj.values())


class _NotPlain(Exception):
    """An item that is not exactly ``{id, value}`` of the types the columns hold."""


class Columns:
    """Collects version 3's sections while the records are rewritten (see the module doc)."""

    def __init__(self) -> None:
        self.text_ids: list[int] = []
        self.tags = bytearray()
        self.strings = bytearray()
        self.mantissas: dict[int, list[int]] = {}  # by tag, tags in first-use order
        self.first: dict[int, int] = {}  # text id -> its first text
        self.indexed = 0  # texts already in ``first``
        self.prev = -1
        self.attrs = AttrColumns()

    def texts(self, texts: list[Any] | TextColumns) -> bool:
        """Move ``texts`` into the columns when every one is exactly ``{id, value}`` with a
        non-negative integer id and a string or null value; else leave the columns as they
        were and return False (checked while moving: one pass over a grid's texts). Texts
        already in columns give the same bytes as their list."""
        if not texts:
            return False
        if isinstance(texts, TextColumns):
            fast = plain_text_columns(texts.ids, texts.values)
            items = list(texts) if fast is None else []  # the item path, as for the list
        else:
            fast, items = plain_texts(texts), texts
        if fast is not None:
            self._known(*fast)
            return True
        ids, tags, mantissas = self.text_ids, self.tags, self.mantissas
        before = (len(ids), len(tags), len(self.strings), {k: len(v) for k, v in mantissas.items()})
        try:
            self._texts(items)
        except (KeyError, TypeError, _NotPlain):
            n_ids, n_tags, n_strings, sizes = before
            del ids[n_ids:], tags[n_tags:], self.strings[n_strings:]
            for tag in [k for k in mantissas if k not in sizes]:
                del mantissas[tag]
            for tag, n in sizes.items():
                del mantissas[tag][n:]
            return False
        return True

    def _known(self, ids: list[int], tags: bytes, values: list[str | None], cache: Values) -> None:
        """Append texts whose values ``cache`` holds: per tag, in the order the tags first
        occur, the values of that tag (one compiled pass: :func:`_packc.known_columns`)."""
        self.text_ids += ids
        self.tags += tags
        known_columns(tags, values, cache.mantissas, cache.strings, self.mantissas, self.strings)

    def _texts(self, items: list[Any]) -> None:
        add_id, add_tag, mantissas = self.text_ids.append, self.tags.append, self.mantissas
        match = DECIMAL.fullmatch
        last_tag, column = -1, []
        for t in items:
            if type(t) is not dict or len(t) != 2:
                raise _NotPlain
            node, value = t["id"], t["value"]
            if type(node) is not int or node < 0:
                raise _NotPlain
            add_id(node)
            if value is None:
                add_tag(NULL)
                continue
            m = match(value)  # TypeError unless a string
            if m is None:
                raw = value.encode()
                add_tag(STRING)
                varint(self.strings, len(raw))
                self.strings += raw
                continue
            tag, n = decimal_column(m)
            add_tag(tag)
            if tag != last_tag:
                last_tag, column = tag, mantissas.setdefault(tag, [])
            column.append(n)

    def attributes(self, nodes: list[int], objs: list[dict[str, Any]]) -> None:
        """Move the changes of elements ``nodes`` to attribute objects ``objs``."""
        ids, start, end = self.text_ids, self.indexed, len(self.text_ids)
        if start < end:  # index the texts since the last call, the earliest one winning
            first_places(ids, start, self.first)  # one compiled pass, no copy of the index
            self.indexed = end
        self.prev = self.attrs.add(nodes, objs, self.first, self.prev)

    def body(self, json: bytes, envelopes: Any) -> bytes:
        """The body: the JSON, the envelopes' sections, then these columns."""
        out = bytearray()
        varint(out, len(json))
        out += json
        envelopes.sections(out)
        for part in (self.tags, self.strings):
            varint(out, len(part))
            out += part
        for packed in (_packed(self.text_ids), _packed(*self.mantissas.values())):
            varint(out, len(packed))
            out += packed
        self.attrs.sections(out)
        return bytes(out)
