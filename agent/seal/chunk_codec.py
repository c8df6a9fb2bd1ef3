"""Chunk bodies: event records to the bytes that are compressed, and back, per header version.

Version 1: the canonical JSON list of the chunk's records.

Version 2 moves the hot parts of rrweb DOM mutations into columns after the JSON, because a
live grid's mutations are thousands of ``{"id": N, "value": "123.45"}`` text changes and
``{"id": N, "attributes": {...}}`` attribute changes, whose keys, quotes and decimal ids cost
more than the values themselves::

    body  = varint(len(json)) ‖ json ‖ text ids ‖ text tags ‖ text data ‖ attr ids ‖ attr json
    json  = canonical JSON of the records, where the ``texts`` (``attributes``) list of an
            ``rrweb.mutation`` payload's ``data`` is replaced by its length when every item is
            exactly ``{id, value}`` (``{id, attributes}``) with a non-negative integer id
    ids   = unsigned LEB128 varints, in record order
    tag   = one byte per text: 0 null, 1 string (data: varint byte length ‖ UTF-8), or
            0x10 | 0x08 if negative | decimals (0..6): a decimal written without leading zeros
            (``-?(0|[1-9][0-9]*)(\\.[0-9]{1,6})?``), data: varint of its digits as an integer
    attr json = canonical JSON list of the attribute objects, in record order

Version 3 (:mod:`agent.seal.chunk_pack`) packs those columns near the information they
carry and moves each record's envelope into deltas (:mod:`agent.seal.chunk_envelope`).

Decoding gives back records equal to the ones encoded; the codec is not hashed itself (the
ciphertext of its compressed output is), so canonical JSON is only needed for determinism.
"""

from __future__ import annotations

from typing import Any

from agent.canonical import loads, record_bytes
from agent.mutation_columns import AttrColumns, TextColumns
from agent.seal import chunk_columns, chunk_envelope, chunk_items, chunk_pack
from agent.seal.chunk_pack import DECIMAL as _DECIMAL
from agent.seal.chunk_pack import DECIMAL_TAG as _DECIMAL_TAG
from agent.seal.chunk_pack import NULL as _NULL
from agent.seal.chunk_pack import STRING as _STRING
from agent.seal.chunk_pack import decimal as _decimal

_MUTATION = "rrweb.mutation"
_TEXT_LISTS = (list, TextColumns)  # a mutation's texts, as the rrweb list or in columns


def encode(records: list[dict[str, Any]], version: int) -> bytes:
    """The body of a chunk of ``version`` holding ``records``."""
    if version == 1:
        return record_bytes(records)
    if version == 3:
        cols3, env = chunk_columns.Columns(), chunk_envelope.Envelopes()
        return cols3.body(record_bytes([_take3(cols3, env, r) for r in records]), env)
    cols = _Columns()
    body = record_bytes([cols.take(r) for r in records])
    head = bytearray()
    chunk_pack.varint(head, len(body))
    return bytes(head) + body + cols.tail()


def decode(body: bytes, version: int, *, columns: bool = False) -> Any:
    """The records of a chunk body of ``version`` (ValueError when it does not decode).

    ``columns``: a version 3 mutation's texts and attribute changes held in columns come back
    as :class:`TextColumns` and :class:`AttrColumns` instead of lists of dicts (for readers
    that take them a column at a time: the search index)."""
    if version == 1:
        return loads(body)
    if version == 3:
        return _decode3(body, columns)
    n, pos = _read_varint(body, 0)
    recs = loads(body[pos : pos + n])
    if not isinstance(recs, list):
        return recs
    _Reader(body, pos + n).fill(recs)
    return recs


def _take3(
    cols: chunk_columns.Columns, env: chunk_envelope.Envelopes, rec: dict[str, Any]
) -> dict[str, Any]:
    """``rec`` with its envelope, and its mutation's texts and attributes, in the columns."""
    rec = env.take(rec)
    payload: Any = rec.get("payload") if rec.get("kind") == _MUTATION else None
    data: Any = payload.get("data") if type(payload) is dict else None
    if type(data) is not dict:
        return rec
    texts: Any = data.get("texts")
    move_texts = type(texts) in _TEXT_LISTS and cols.texts(texts)
    attrs = chunk_items.plain_attributes(data.get("attributes"))
    if not (move_texts or attrs):
        return rec
    data = dict(data)
    if move_texts:
        data["texts"] = len(texts)
        env.mark(chunk_envelope.TEXTS)
    if attrs:
        cols.attributes(*attrs)
        data["attributes"] = len(attrs[0])
        env.mark(chunk_envelope.ATTRIBUTES)
    return {**rec, "payload": {**rec["payload"], "data": data}}


def _counted(recs: list[Any], flags: bytes, bit: int, key: str) -> list[tuple[dict[str, Any], int]]:
    """The ``data`` of each mutation whose ``key`` list was replaced by its length."""
    out = []
    for r, f in zip(recs, flags, strict=True):
        if not f & bit:
            continue
        payload = r.get("payload") if type(r) is dict else None
        data = payload.get("data") if type(payload) is dict else None
        if type(data) is not dict or type(data.get(key)) is not int or data[key] < 0:
            raise ValueError(f"chunk body's record has no {key} count where its flag says so")
        out.append((data, data[key]))
    return out


def _decode3(body: bytes, columns: bool = False) -> Any:
    cur = chunk_pack.Cursor(body)
    recs = loads(cur.take(cur.varint()))
    if not isinstance(recs, list):
        raise ValueError("chunk body is not a list of records")
    flags = chunk_envelope.restore(cur, recs)
    texts = _counted(recs, flags, chunk_envelope.TEXTS, "texts")
    attrs = _counted(recs, flags, chunk_envelope.ATTRIBUTES, "attributes")
    ids, values = chunk_pack.read_texts(cur, sum(n for _, n in texts))
    k = 0
    for data, n in texts:
        if columns:
            data["texts"] = TextColumns(ids[k : k + n], values[k : k + n])
        else:
            pairs = zip(ids[k : k + n], values[k : k + n], strict=True)
            data["texts"] = [{"id": i, "value": v} for i, v in pairs]
        k += n
    n_attrs = sum(n for _, n in attrs)
    if columns:
        nodes, objs = chunk_pack.read_attr_columns(cur, n_attrs, ids)
        cur.done()
        k = 0
        for data, n in attrs:
            data["attributes"] = AttrColumns(nodes[k : k + n], objs[k : k + n])
            k += n
        return recs
    items = chunk_pack.read_attrs(cur, n_attrs, ids)
    cur.done()
    k = 0
    for data, n in attrs:
        data["attributes"] = items[k : k + n]
        k += n
    return recs


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    cur = chunk_pack.Cursor(buf, pos)
    return cur.varint(), cur.pos


def _is_id(v: Any) -> bool:
    return type(v) is int and v >= 0


def _columnar(items: Any, key: str, ok: type | tuple[type, ...]) -> bool:
    """Every item is exactly ``{id, key}`` with a non-negative integer id and ``key`` of ``ok``."""
    return (
        isinstance(items, list)
        and bool(items)
        and all(
            type(t) is dict and len(t) == 2 and _is_id(t.get("id")) and isinstance(t.get(key), ok)
            for t in items
        )
    )


class _Columns:
    """Collects the columns while the records are rewritten."""

    def __init__(self) -> None:
        self.text_ids = bytearray()
        self.tags = bytearray()
        self.data = bytearray()
        self.attr_ids = bytearray()
        self.attrs: list[Any] = []

    def take(self, rec: dict[str, Any]) -> dict[str, Any]:
        """``rec`` with its mutation's texts and attributes replaced by counts, if columnar."""
        payload: Any = rec.get("payload") if rec.get("kind") == _MUTATION else None
        data: Any = payload.get("data") if type(payload) is dict else None
        if type(data) is not dict:
            return rec
        texts: Any = data.get("texts")
        attrs: Any = data.get("attributes")
        move_texts = _columnar(texts, "value", (str, type(None)))
        move_attrs = _columnar(attrs, "attributes", dict)
        if not (move_texts or move_attrs):
            return rec
        data = dict(data)
        if move_texts:
            for t in texts:
                self._text(t["id"], t["value"])
            data["texts"] = len(texts)
        if move_attrs:
            for a in attrs:
                chunk_pack.varint(self.attr_ids, a["id"])
                self.attrs.append(a["attributes"])
            data["attributes"] = len(attrs)
        return {**rec, "payload": {**payload, "data": data}}

    def _text(self, node_id: int, value: str | None) -> None:
        chunk_pack.varint(self.text_ids, node_id)
        if value is None:
            self.tags.append(_NULL)
            return
        m = _DECIMAL.fullmatch(value)
        if m is None:
            raw = value.encode()
            self.tags.append(_STRING)
            chunk_pack.varint(self.data, len(raw))
            self.data += raw
            return
        tag, n = chunk_pack.decimal_column(m)
        self.tags.append(tag)
        chunk_pack.varint(self.data, n)

    def tail(self) -> bytes:
        attrs = record_bytes(self.attrs) if self.attrs else b""
        return bytes(self.text_ids + self.tags + self.data + self.attr_ids) + attrs


class _Reader:
    """Reads the columns back into the records that name their counts."""

    def __init__(self, body: bytes, pos: int) -> None:
        self.body = body
        self.pos = pos

    def fill(self, recs: list[Any]) -> None:
        """Put the columns back into ``recs``, in record order."""
        texts: list[tuple[dict[str, Any], int]] = []
        attrs: list[tuple[dict[str, Any], int]] = []
        for r in recs:
            payload = r.get("payload") if type(r) is dict else None
            data = payload.get("data") if type(payload) is dict else None
            if r.get("kind") != _MUTATION or type(data) is not dict:
                continue
            if type(data.get("texts")) is int:
                texts.append((data, data["texts"]))
            if type(data.get("attributes")) is int:
                attrs.append((data, data["attributes"]))
        n_texts = sum(n for _, n in texts)
        ids = self._varints(n_texts)
        tags = self.body[self.pos : self.pos + n_texts]
        if len(tags) != n_texts:
            raise ValueError("chunk body ends inside the text tags")
        self.pos += n_texts
        values = self._values(tags)
        k = 0
        for data, n in texts:
            data["texts"] = [{"id": ids[k + j], "value": values[k + j]} for j in range(n)]
            k += n
        n_attrs = sum(n for _, n in attrs)
        attr_ids = self._varints(n_attrs)
        rest = self.body[self.pos :]
        objs = loads(rest) if n_attrs or rest else []
        if not isinstance(objs, list) or len(objs) != n_attrs:
            raise ValueError("chunk body's attribute column does not match its records")
        k = 0
        for data, n in attrs:
            data["attributes"] = [
                {"id": attr_ids[k + j], "attributes": objs[k + j]} for j in range(n)
            ]
            k += n

    def _varint(self) -> int:
        n, self.pos = _read_varint(self.body, self.pos)
        return n

    def _varints(self, count: int) -> list[int]:
        """``count`` varints (the one- and two-byte ones, most node ids, read inline)."""
        body, pos, end, out = self.body, self.pos, len(self.body), []
        for _ in range(count):
            if pos + 1 < end and body[pos] < 0x80:
                out.append(body[pos])
                pos += 1
            elif pos + 1 < end and body[pos + 1] < 0x80:
                out.append((body[pos] & 0x7F) | (body[pos + 1] << 7))
                pos += 2
            else:
                n, pos = _read_varint(body, pos)
                out.append(n)
        self.pos = pos
        return out

    def _values(self, tags: bytes) -> list[str | None]:
        """One text value per tag (decimals, the bulk of a grid's texts, decoded inline)."""
        body, pos, out = self.body, self.pos, []
        try:
            for tag in tags:
                if tag & 0xF0 != _DECIMAL_TAG:
                    self.pos = pos
                    out.append(self._other(tag))
                    pos = self.pos
                    continue
                n = shift = 0
                while True:
                    b = body[pos]
                    pos += 1
                    n |= (b & 0x7F) << shift
                    if b < 0x80:
                        break
                    shift += 7
                out.append(_decimal(tag, n))
        except IndexError:
            raise ValueError("chunk body ends inside a text") from None
        self.pos = pos
        return out

    def _other(self, tag: int) -> str | None:
        if tag == _NULL:
            return None
        if tag != _STRING:
            raise ValueError(f"unknown text tag {tag:#x} in chunk body")
        n = self._varint()
        raw = self.body[self.pos : self.pos + n]
        if len(raw) != n:
            raise ValueError("chunk body ends inside a text")
        self.pos += n
        return raw.decode()
