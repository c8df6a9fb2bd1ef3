"""Version 3's encoder, fast: a mutation's texts and attribute changes checked and looked up a
whole list at a time.

A live grid's chunk holds thousands of ``{id, value}`` text changes, mostly prices it has
shown before. Checking each item's shape and parsing each price with the decimal pattern cost
about a microsecond a change; here the shape of a whole list is checked with builtins that run
in C (``set(map(type, items))``; texts already in columns: one compiled pass,
:func:`agent.seal._packc.text_tags`), and each distinct value is parsed once into a cache
shared by every chunk, so a list of known prices becomes its tags in that same pass.

These are only shortcuts: whenever a check says no (a value that is not a plain string or
null, a string too long to be a decimal, one that does not encode to UTF-8), the caller takes
the item-by-item path, which gives the same bytes or raises what it always raised.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from agent.mutation_columns import AttrColumns
from agent.seal._packc import text_tags
from agent.seal.chunk_pack import DECIMAL, NULL, STRING, decimal_column, varint

CAP = 16_384  # distinct values kept (at most ~4 MB); a full cache is replaced by an empty one
LONGEST = 38  # characters of the longest decimal DECIMAL takes: "-", 30 digits, ".", 6
_DICT, _INT = {dict}, {int}
_ID, _VALUE, _ATTRIBUTES = itemgetter("id"), itemgetter("value"), itemgetter("attributes")


class Values:
    """What the columns hold for each text value seen: its tag, and its mantissa (a decimal)
    or its ``varint(byte length) ‖ UTF-8`` (any other string). Only ever added to, so a
    thread that still holds a replaced cache reads it safely."""

    __slots__ = ("mantissas", "strings", "tags")

    def __init__(self) -> None:
        self.tags: dict[str | None, int] = {None: NULL}
        self.mantissas: dict[str | None, int] = {}
        self.strings: dict[str | None, bytes] = {}

    def learn(self, values: set[str]) -> bool:
        """Parse ``values`` (strings of at most :data:`LONGEST` characters) into the cache;
        False when one does not encode to UTF-8 (the caller's item path raises for it)."""
        tags, match = self.tags, DECIMAL.fullmatch
        for value in values:
            m = match(value)
            if m is None:
                try:
                    raw = value.encode()
                except UnicodeEncodeError:
                    return False
                out = bytearray()
                varint(out, len(raw))
                self.strings[value] = bytes(out + raw)
                tags[value] = STRING  # last: a tag present means the entry is complete
                continue
            tag, self.mantissas[value] = decimal_column(m)
            tags[value] = tag
        return True


_cache = [Values()]


def _pairs(items: list[Any], second: Callable[[Any], Any]) -> tuple[list[int], list[Any]] | None:
    """The ids and ``second`` values of ``items`` when every item is a dict of exactly two
    keys, ``id`` (a non-negative ``int``) and the one ``second`` reads; else None."""
    if set(map(type, items)) != _DICT:
        return None
    try:
        ids = list(map(_ID, items))
        seconds = list(map(second, items))
    except KeyError:
        return None
    # each item has both keys, so a total of two keys an item means exactly two each
    if sum(map(len, items)) != 2 * len(items) or not _ids(ids):
        return None
    return ids, seconds


def _ids(ids: list[Any]) -> bool:
    """Every id a non-negative ``int`` (not a ``bool``); ``ids`` is not empty."""
    return set(map(type, ids)) == _INT and min(ids) >= 0


def plain_texts(items: list[Any]) -> tuple[list[int], bytes, list[str | None], Values] | None:
    """The ids, tags and values of ``items`` and the cache that holds the values' columns,
    when every item is exactly ``{id, value}`` with a non-negative ``int`` id, a ``str`` or
    null value of at most :data:`LONGEST` characters that encodes to UTF-8; else None."""
    pair = _pairs(items, _VALUE)
    if pair is None:
        return None
    return plain_text_columns(*pair)


def plain_text_columns(
    ids: list[int], values: list[Any]
) -> tuple[list[int], bytes, list[str | None], Values] | None:
    """:func:`plain_texts` for texts already in columns (a :class:`TextColumns`); the shape
    checks and the tags in one compiled pass (:func:`agent.seal._packc.text_tags`)."""
    cache = _cache[0]
    got = text_tags(ids, values, cache.tags)
    if got is None:
        return None
    tags, unknown = got
    if not unknown:
        return ids, tags, values, cache
    missing: set[str] = set(map(values.__getitem__, unknown))  # None is always known
    if len(missing) > CAP or max(map(len, missing)) > LONGEST:
        return None  # more new values than the cache holds: the item path, no caching
    if len(cache.tags) + len(missing) > CAP:
        cache = _cache[0] = Values()
        missing = set(values).difference(cache.tags)
        if not cache.learn(missing):
            return None
        return ids, bytes(map(cache.tags.__getitem__, values)), values, cache
    if not cache.learn(missing):
        return None
    out = bytearray(tags)  # a grid's clock or counter: a new value or two a list
    for i in unknown:
        out[i] = cache.tags[values[i]]
    return ids, bytes(out), values, cache


def plain_attributes(items: Any) -> tuple[list[int], list[dict[str, Any]]] | None:
    """The ids and attribute objects of ``items`` when it is a non-empty list whose every
    item is exactly ``{id, attributes}`` with a non-negative ``int`` id and a ``dict`` (or
    an :class:`AttrColumns` of such ids and dicts)."""
    if type(items) is AttrColumns:
        ids, objs = items.ids, items.objs
        if not ids or len(ids) != len(objs) or not _ids(ids) or set(map(type, objs)) != _DICT:
            return None
        return ids, objs
    if type(items) is not list or not items:
        return None
    pair = _pairs(items, _ATTRIBUTES)
    if pair is None:
        return None
    ids, objs = pair
    if set(map(type, objs)) != _DICT:
        return None
    return ids, objs
