"""Chunk body version 3: version 2's columns, packed closer to the information they carry.

A live grid's chunk is hundreds of cell changes: a text node id, a price and, in a later
mutation of the same chunk, the class of the cell element (``up``/``down``). Version 2 spent
two varint bytes on each id and each price and left the attribute changes as JSON. Version 3
keeps version 2's JSON (mutation ``texts`` and ``attributes`` lists replaced by their lengths)
and stores these sections, each ``varint(length) ‖ bytes``, in this order::

    json        canonical JSON of the records, without what the sections below hold
    flags       one byte per record, and
    numbers     its envelope (seq and clocks) as deltas: :mod:`agent.seal.chunk_envelope`
    tags        one byte per text (as version 2: null, string, or a decimal's sign and places)
    strings     the texts that are not decimals: varint(byte length) ‖ UTF-8, in text order
    ids         the text node ids, packed (below)
    mantissas   the decimals' digits as integers, packed: one column per tag (the prices
                apart from a counter), tags in the order they first occur
    attr codes  one integer per attribute change (a bitmap, or packed: :func:`_read_codes`):
                0 = its id is in ``attr ids``; k > 0 = its id is the id of the text k places
                after the previous coded one's text, minus 1 (the element whose text child
                changed: rrweb numbers a child right after its parent)
    attr ids    varints, for the changes coded 0
    attr values one packed integer per attribute change: k > 0 = entry k-1 of the value
                table; 0 = the next object of the escaped list
    attr json   canonical JSON ``[table, escaped]``: the distinct attribute objects whose values
                are all strings or null, in first-use order, and every other object in order

Packed integers come in groups of up to :data:`GROUP` values: ``zigzag(lo - previous lo) ‖
zigzag(r - previous r) ‖ the base-r number of the values minus lo`` (little-endian, in as
many bytes as ``r**count - 1`` needs; a column's first group follows lo 0, r 1): a price
between 100.00 and 150.00 costs 12.3 bits, not 16. The body is compressed with zstd and a
fixed dictionary of record skeletons (:mod:`agent.seal.chunk_dict`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from itertools import accumulate, islice, repeat
from typing import Any

from agent.canonical import loads
from agent.seal import _packc

# A decimal written without leading zeros, stored as sign, places and digits (versions 2, 3).
DECIMAL = re.compile(r"(-?)(0|[1-9][0-9]{0,29})(?:\.([0-9]{1,6}))?")
NULL, STRING, DECIMAL_TAG, NEGATIVE = 0, 1, 0x10, 0x08
GROUP = 96  # values per packed group: big enough to amortise lo/r, small enough to stay linear
_BYTES: dict[tuple[int, int], int] = {}
_MINUS_ONE = (-1).__add__
DECIMALS_KEPT = 16_384  # decoded decimal strings kept per tag (a grid's prices repeat)
_DECIMALS: dict[int, dict[int, str]] = {}


def decimal_column(m: re.Match[str]) -> tuple[int, int]:
    """The tag and digits-as-integer of a :data:`DECIMAL` match: ``-12.50`` is
    ``(DECIMAL_TAG | NEGATIVE | 2, 1250)``."""
    sign, whole, frac = m.groups()
    if frac is None:
        return DECIMAL_TAG | (NEGATIVE if sign else 0), int(whole)
    return DECIMAL_TAG | (NEGATIVE if sign else 0) | len(frac), int(whole + frac)


def varint(out: bytearray, n: int) -> None:
    """Append ``n`` as an unsigned LEB128 varint."""
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def zigzag(out: bytearray, n: int) -> None:
    """Append the signed ``n`` as a varint: 0, -1, 1, -2 ... as 0, 1, 2, 3 ..."""
    varint(out, n * 2 if n >= 0 else -n * 2 - 1)


def unzigzag(n: int) -> int:
    return n >> 1 if n & 1 == 0 else -((n + 1) >> 1)


def _width(r: int, count: int) -> int:
    """Bytes that hold any base-``r`` number of ``count`` digits."""
    key = (r, count)
    n = _BYTES.get(key)
    if n is None:
        n = ((r**count - 1).bit_length() + 7) // 8
        if len(_BYTES) < 4096:
            _BYTES[key] = n
    return n


def pack(out: bytearray, values: list[int]) -> None:
    """Append the non-negative ``values`` as packed groups: compiled (:mod:`agent.seal._packc`)
    where every value and group range fits 64 bits, else :func:`pack_reference`; same bytes."""
    try:
        _packc.pack(out, values)
    except (OverflowError, TypeError):  # left ``out`` as it was
        pack_reference(out, values)


def pack_reference(out: bytearray, values: list[int]) -> None:
    """:func:`pack` in Python: any size of integer (the reference the compiled one is held to)."""
    prev_lo, prev_r = 0, 1
    for start in range(0, len(values), GROUP):
        grp = values[start : start + GROUP]
        lo = min(grp)
        r = max(grp) - lo + 1
        zigzag(out, lo - prev_lo)
        zigzag(out, r - prev_r)
        prev_lo, prev_r = lo, r
        if r == 1:
            continue
        out += _number(grp, lo, r)


def _number(digits: list[int], lo: int, r: int) -> bytes:
    """The base-``r`` number of ``digits`` minus ``lo`` each, little-endian, in the bytes that
    any number of as many digits needs (two digits a step: half the big-number steps)."""
    top: int = r ** len(digits)
    if len(digits) & 1:
        digits = [0, *digits]  # a leading zero digit: the same number
    acc, rr = 0, r * r
    for hi, low in zip(digits[0::2], digits[1::2], strict=True):
        acc = acc * rr + (hi * r + low)
    acc -= lo * ((top - 1) // (r - 1))  # lo off every digit: lo times the repunit 11...1
    return acc.to_bytes(((top - 1).bit_length() + 7) // 8, "little")


class Cursor:
    """Reads a body's sections and packed groups, raising ``ValueError`` past its end."""

    def __init__(self, body: bytes, pos: int = 0) -> None:
        self.body, self.pos = body, pos

    def varint(self) -> int:
        body, pos, n, shift = self.body, self.pos, 0, 0
        while True:
            if pos >= len(body):
                raise ValueError("chunk body ends inside a varint")
            b = body[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = pos
                return n
            shift += 7

    def take(self, n: int) -> bytes:
        raw = self.body[self.pos : self.pos + n]
        if len(raw) != n:
            raise ValueError("chunk body ends inside a section")
        self.pos += n
        return raw

    def section(self) -> Cursor:
        """The next ``varint(length) ‖ bytes`` section, as a cursor of its own."""
        return Cursor(self.take(self.varint()))

    def varints(self, count: int) -> list[int]:
        return [self.varint() for _ in range(count)]

    def unpacked(self, count: int) -> list[int]:
        """``count`` packed values that fill this cursor exactly."""
        out = self.unpack(count)
        self.done()
        return out

    def unpack(self, count: int) -> list[int]:
        """``count`` packed values."""
        out: list[int] = []
        lo, r = 0, 1
        while len(out) < count:
            g = min(GROUP, count - len(out))
            lo += unzigzag(self.varint())
            r += unzigzag(self.varint())
            if lo < 0 or r < 1:
                raise ValueError("chunk body's packed group has no range")
            if r == 1:
                out += [lo] * g
                continue
            acc = int.from_bytes(self.take(_width(r, g)), "little")
            grp = [0] * g
            for k in range(g - 1, -1, -1):
                acc, grp[k] = divmod(acc, r)
            if acc:
                raise ValueError("chunk body's packed group is out of range")
            out += [v + lo for v in grp]
        return out

    def done(self) -> None:
        if self.pos != len(self.body):
            raise ValueError("chunk body has bytes after its last section")


def _read_codes(cur: Cursor, count: int) -> list[int]:
    if cur.take(1) == b"\x00":
        codes = cur.unpack(count)
        cur.done()
        return codes
    rest = cur.take(len(cur.body) - cur.pos)
    ones = [k for k, bit in enumerate(bin(int.from_bytes(rest, "little"))[:1:-1]) if bit == "1"]
    codes = [k - last for k, last in zip(ones, [-1, *ones], strict=False)]
    if len(codes) != count or (rest and rest[-1] == 0):
        raise ValueError("chunk body's attribute codes do not match its records")
    return codes


def _attr_sections(
    cur: Cursor, count: int
) -> tuple[list[int], Cursor, list[int], list[Any], list[Any]]:
    """The four attribute sections: codes, the id cursor, value codes, table and escaped."""
    codes = _read_codes(cur.section(), count)
    ids = cur.section()
    values = cur.section().unpacked(count)
    raw = cur.take(cur.varint())
    table, escaped = loads(raw) if raw else ([], [])
    if not isinstance(table, list) or not isinstance(escaped, list):
        raise ValueError("chunk body's attribute table is not two lists")
    return codes, ids, values, table, escaped


def _coded(
    codes: list[int], values: list[int], table: list[Any], text_ids: list[int]
) -> tuple[list[int], list[dict[str, Any]]] | None:
    """The element ids and table objects when every change is coded against a text and every
    value is in the table (a grid's class flips), with C-level ``map`` over the columns;
    else None."""
    if 0 in codes or 0 in values or not all(type(obj) is dict for obj in table):
        return None
    try:
        texts = map(text_ids.__getitem__, map(_MINUS_ONE, accumulate(codes)))  # from -1 on
        nodes = list(map(_MINUS_ONE, texts))  # rrweb numbers a text right after its element
        objs = list(map(table.__getitem__, map(_MINUS_ONE, values)))
    except (IndexError, ValueError):
        raise ValueError("chunk body's attribute columns do not match its records") from None
    return nodes, objs


def read_attrs(cur: Cursor, count: int, text_ids: list[int]) -> list[dict[str, Any]]:
    """``count`` attribute changes ``{id, attributes}`` from the four attribute sections."""
    codes, ids, values, table, escaped = _attr_sections(cur, count)
    coded = _coded(codes, values, table, text_ids)
    if coded is None:
        return _attr_items(codes, values, table, escaped, text_ids, ids)
    ids.done()
    return [{"id": n, "attributes": dict(o)} for n, o in zip(*coded, strict=True)]


def read_attr_columns(
    cur: Cursor, count: int, text_ids: list[int]
) -> tuple[list[int], list[dict[str, Any]]]:
    """:func:`read_attrs` as two columns, the element ids and their attribute objects (a
    table's objects shared between the changes that use them: read only)."""
    codes, ids, values, table, escaped = _attr_sections(cur, count)
    coded = _coded(codes, values, table, text_ids)
    if coded is None:
        items = _attr_items(codes, values, table, escaped, text_ids, ids)
        return [d["id"] for d in items], [d["attributes"] for d in items]
    ids.done()
    return coded


def _attr_items(
    codes: list[int],
    values: list[int],
    table: list[Any],
    escaped: list[Any],
    text_ids: list[int],
    ids: Cursor,
) -> list[dict[str, Any]]:
    """:func:`read_attrs` item by item (some changes escaped or coded by id)."""
    out: list[dict[str, Any]] = []
    prev, esc = -1, iter(escaped)
    try:
        for code, k in zip(codes, values, strict=True):
            if code:
                prev += code
                node = text_ids[prev] - 1
            else:
                node = ids.varint()
            obj = next(esc) if k == 0 else table[k - 1]
            if not isinstance(obj, dict):
                raise ValueError("chunk body's attribute object is not an object")
            out.append({"id": node, "attributes": dict(obj)})
    except (IndexError, StopIteration):
        raise ValueError("chunk body's attribute columns do not match its records") from None
    ids.done()
    return out


def read_texts(cur: Cursor, count: int) -> tuple[list[int], list[str | None]]:
    """The text ids and values of ``count`` texts from the text sections.

    Each tag's values are decoded as one column, then dealt out in tag order by C-level
    ``map``: a grid's chunk is thousands of texts of one or two tags.
    """
    tags = cur.take(cur.varint())
    if len(tags) != count:
        raise ValueError("chunk body's text tags do not match its records")
    strings = cur.section()
    ids = cur.section().unpacked(count)
    kinds = sorted(set(tags), key=tags.find)  # first-use order: the mantissa columns' order
    for tag in kinds:
        if tag not in (NULL, STRING) and (tag & 0xF0 != DECIMAL_TAG or tag & 0x07 > 6):
            raise ValueError(f"unknown text tag {tag:#x} in chunk body")
    packed = cur.section()
    columns: dict[int, Iterator[str | None]] = {}
    for tag in kinds:
        if tag == NULL:
            columns[tag] = repeat(None)
        elif tag == STRING:
            n = tags.count(tag)
            columns[tag] = iter([strings.take(strings.varint()).decode() for _ in range(n)])
        else:
            columns[tag] = iter(decimals(tag, packed.unpack(tags.count(tag))))
    packed.done()
    strings.done()
    if len(kinds) == 1:
        return ids, list(islice(columns[kinds[0]], count))
    return ids, list(map(next, map(columns.__getitem__, tags)))


def decimal(tag: int, mantissa: int) -> str:
    """The decimal string a tag and its integer stand for."""
    decimals = tag & 0x07
    if decimals > 6:
        raise ValueError(f"unknown text tag {tag:#x} in chunk body")
    digits = str(mantissa)
    if decimals:
        digits = digits.rjust(decimals + 1, "0")
        digits = digits[:-decimals] + "." + digits[-decimals:]
    return "-" + digits if tag & NEGATIVE else digits


def decimals(tag: int, mantissas: list[int]) -> list[str]:
    """:func:`decimal` of each of ``mantissas`` (one tag): a grid's prices repeat across
    chunks, so the strings are kept per tag (:data:`DECIMALS_KEPT` at most) and only the
    new ones are made."""
    kept = _DECIMALS.setdefault(tag, {})
    with contextlib.suppress(KeyError):  # every one seen before: a grid's usual chunk
        return list(map(kept.__getitem__, mantissas))
    new = set(mantissas).difference(kept)
    if len(kept) + len(new) > DECIMALS_KEPT:
        kept.clear()
        new = set(mantissas)
    kept.update((m, decimal(tag, m)) for m in new)  # few: a grid's prices repeat
    return list(map(kept.__getitem__, mantissas))
