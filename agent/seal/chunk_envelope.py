"""Version 3's record envelopes: ``seq`` and the two clocks as small deltas instead of JSON.

Every record carries ``seq`` (dense), ``t_utc_ns`` (19 digits) and ``t_mono_ns``; an rrweb
event's payload repeats the UTC time in milliseconds as ``timestamp``. In a chunk these are
nearly the same from record to record, so version 3 takes them out of the JSON and writes,
per record, a flag byte and, when flagged, three zigzag varints::

    flags    bit 0: seq and both clocks moved; bit 1: the payload's ``timestamp`` moved too
             (it was t_utc_ns // 10**6); bit 2: the UTC delta is in milliseconds; bits 3
             and 4: the mutation's ``texts`` (``attributes``) list is in the columns and
             its JSON holds the list's length
    numbers  seq - previous seq - 1, t_utc_ns - previous t_utc_ns (ns, or ms with bit 2),
             (t_utc_ns - t_mono_ns) - the previous record's (the clocks' offset moves rarely)

"Previous" starts at seq -1 and 0 for the times, and skips records without the flag.
"""

from __future__ import annotations

from typing import Any

from agent.seal.chunk_pack import Cursor, varint
from agent.seal.chunk_pack import unzigzag as _unzz
from agent.seal.chunk_pack import zigzag as _zz

_MOVED, _TIMESTAMP, _MS = 1, 2, 4
TEXTS, ATTRIBUTES = 8, 16
_KNOWN = _MOVED | _TIMESTAMP | _MS | TEXTS | ATTRIBUTES
_MS_NS = 1_000_000
_ENVELOPE = ("seq", "t_utc_ns", "t_mono_ns")


class Envelopes:
    """Moves the envelopes of a chunk's records into a flags and a numbers section."""

    def __init__(self) -> None:
        self.flags = bytearray()
        self.numbers = bytearray()
        self.seq = -1
        self.utc = 0
        self.offset = 0

    def take(self, rec: dict[str, Any]) -> dict[str, Any]:
        """``rec`` without its envelope when it has one of plain integers."""
        seq, utc, mono = rec.get("seq"), rec.get("t_utc_ns"), rec.get("t_mono_ns")
        if not (type(seq) is int and type(utc) is int and type(mono) is int):
            self.flags.append(0)
            return rec
        flags = _MOVED
        out = {k: v for k, v in rec.items() if k not in _ENVELOPE}
        payload = out.get("payload")
        if type(payload) is dict:
            ts = payload.get("timestamp")
            if type(ts) is int and ts == utc // _MS_NS:
                flags |= _TIMESTAMP
                out["payload"] = {k: v for k, v in payload.items() if k != "timestamp"}
        nums = self.numbers
        _zz(nums, seq - self.seq - 1)
        delta = utc - self.utc
        if delta % _MS_NS == 0:
            flags |= _MS
            delta //= _MS_NS
        _zz(nums, delta)
        offset = utc - mono
        _zz(nums, offset - self.offset)
        self.seq, self.utc, self.offset = seq, utc, offset
        self.flags.append(flags)
        return out

    def mark(self, bits: int) -> None:
        """Set ``bits`` in the flags of the record taken last."""
        self.flags[-1] |= bits

    def sections(self, out: bytearray) -> None:
        for part in (self.flags, self.numbers):
            varint(out, len(part))
            out += part


def restore(cur: Cursor, recs: list[Any]) -> bytes:
    """Put the envelopes of the next two sections back into ``recs``; return the flags."""
    flags = cur.take(cur.varint())
    nums = cur.section()
    if len(flags) != len(recs):
        raise ValueError("chunk body's envelope flags do not match its records")
    seq, utc, offset = -1, 0, 0
    for rec, f in zip(recs, flags, strict=True):
        if f & ~_KNOWN or (f & (_TIMESTAMP | _MS) and not f & _MOVED):
            raise ValueError(f"chunk body's envelope flag {f:#x} is not known")
        if not f & _MOVED:
            continue
        if type(rec) is not dict:
            raise ValueError("chunk body's envelope flag names a record that is not an object")
        seq += _unzz(nums.varint()) + 1
        delta = _unzz(nums.varint())
        utc += delta * _MS_NS if f & _MS else delta
        offset += _unzz(nums.varint())
        rec["seq"], rec["t_utc_ns"], rec["t_mono_ns"] = seq, utc, utc - offset
        if f & _TIMESTAMP:
            payload = rec.get("payload")
            if type(payload) is not dict:
                raise ValueError("chunk body's envelope flag names a payload that is not there")
            payload["timestamp"] = utc // _MS_NS
    nums.done()
    return flags
