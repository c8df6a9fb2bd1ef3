"""One session opened for replay: verified first, then indexed for fast seeking.

Opening verifies every segment (chain, checkpoints, seal, keys, decryption, RFC 3161 when TSA
roots are given) and serves *only the verified part*: chunks past the first failure of a
segment are withheld and shown on the timeline as an ``unverified`` gap. One pass over the
verified chunks builds small indexes - keyframes per stream (Meta + FullSnapshot seqs), the
timeline, network pairs, assets, streams - while the events themselves stay in the journal and
are decoded chunk by chunk on demand (an LRU of decoded chunks), so memory does not grow with
the session length and a seek decodes only the chunks between a keyframe and the target.

A *stream* is what one rrweb replayer plays: the rrweb events of one frame of one page
(``<page>:<frame>``; the main frame's id equals the page id).
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.actions.derive import ActionDeriver
from agent.actions.model import Action
from agent.errors import UsageError
from agent.events import Record
from agent.journal.reader import SegmentFile, decode_chunk
from agent.journal.store import SessionInfo, find_session
from agent.keys import Keyring, TrustStore
from agent.replay import timeline as tl
from agent.replay.integrity import OpenSegment, session_integrity
from agent.replay.network_index import index_network
from agent.replay.proofs import chunk_proof, load_leaves
from agent.seal.crypto import ChunkCipher
from agent.seal.verify import SegmentReport, TimestampVerifier, VerifyReport, verify_paths


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """A verified chunk: where it is and which seqs/times it holds."""

    seg_pos: int
    idx: int
    seq0: int
    seq1: int
    t0: int
    t1: int


def stream_id(page: str | None, frame: str | None) -> str:
    """The id of the rrweb stream of one frame of one page."""
    return f"{page}:{frame}"


@dataclass
class ReplaySession:
    """A verified, indexed session; events are decoded on demand."""

    info: SessionInfo
    report: VerifyReport
    segs: list[OpenSegment]
    chunks: list[ChunkRef] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    keyframes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    network: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha -> {url(s), mime}
    screenshots: dict[str, str] = field(default_factory=dict)  # action_id -> sha
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)  # action_id -> entry
    derived_actions: list[Action] = field(default_factory=list)  # what the person did, in words
    withheld: list[dict[str, Any]] = field(default_factory=list)
    cache_size: int = 64
    _cache: OrderedDict[tuple[int, int], list[Record]] = field(default_factory=OrderedDict)
    _seq1s: list[int] = field(default_factory=list)
    _tmins: list[int] = field(default_factory=list)  # earliest time in chunk i or after it

    # --- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        home: Path,
        session_id: str,
        *,
        keyring: Keyring | None = None,
        trust: TrustStore | None = None,
        tst_verifier: TimestampVerifier | None = None,
        cache_size: int = 64,
    ) -> ReplaySession:
        """Find, verify and index a session (``UsageError`` for an unknown id)."""
        info = find_session(home, session_id)
        keyring = keyring or Keyring.load(home)
        trust = trust if trust is not None else keyring.trust()
        paths = [s.path for s in info.segments]
        report = verify_paths(
            paths, trust, keyring=keyring, decrypt=True, tst_verifier=tst_verifier
        )
        kr = keyring
        return cls.from_report(info, report, lambda f: f.cipher(kr), cache_size=cache_size)

    @classmethod
    def from_report(
        cls,
        info: SessionInfo,
        report: VerifyReport,
        cipher_for: Callable[[SegmentFile], ChunkCipher],
        *,
        cache_size: int = 64,
    ) -> ReplaySession:
        """Index a session whose segments ``report`` verified; ``cipher_for`` gives each
        segment's data cipher (raising when it cannot: that segment is then withheld)."""
        by_path = {s.path: s for s in report.segments}
        segs: list[OpenSegment] = []
        for p in (s.path for s in info.segments):
            rep = by_path.get(str(p)) or SegmentReport(path=str(p))
            f: SegmentFile | None = None
            cipher: ChunkCipher | None = None
            try:
                f = SegmentFile(p)
                cipher = cipher_for(f)
            except Exception:  # unreadable or undecryptable: nothing of it is served
                if f is not None:
                    f.close()
                f, cipher = None, None
            segs.append(OpenSegment(p, f, cipher, rep))
        rs = cls(info=info, report=report, segs=segs, cache_size=cache_size)
        rs._index()
        return rs

    def close(self) -> None:
        """Close the segment files."""
        for s in self.segs:
            if s.file is not None:
                s.file.close()

    # --- indexing --------------------------------------------------------------------------
    def _index(self) -> None:
        last_meta: dict[str, int] = {}
        deriver = ActionDeriver()
        for pos, s in enumerate(self.segs):
            if s.file is None:
                why = s.report.undecryptable or "unreadable"  # a key not held here is named
                self.withheld.append({"segment": s.path.name, "reason": why})
                continue
            n_ok = s.report.chunks_verified
            headers = s.file.chunk_headers()
            if n_ok < len(headers):
                bad = headers[n_ok] if n_ok < len(headers) else {}
                ff = s.report.first_failure
                self.withheld.append(
                    {
                        "segment": s.path.name,
                        "from_chunk": n_ok,
                        "to_chunk": len(headers) - 1,
                        "seq0": bad.get("seq0"),
                        "seq1": headers[-1].get("seq1"),
                        "t0": bad.get("t0"),
                        "t1": headers[-1].get("t1"),
                        "reason": f"{ff.name}: {ff.detail}" if ff else "not verified",
                    }
                )
            for row in s.file.iter_chunks():
                if row.idx >= n_ok or s.cipher is None:
                    break
                h = row.header
                self.chunks.append(
                    ChunkRef(
                        pos,
                        row.idx,
                        int(h["seq0"]),
                        int(h["seq1"]),
                        int(h.get("t0", 0)),
                        int(h.get("t1", 0)),
                    )
                )
                recs = decode_chunk(s.file, row, s.cipher)
                self._tmins.append(min((r.t_utc_ns for r in recs), default=int(h.get("t0", 0))))
                for r in recs:
                    self._index_record(r, last_meta)
                    deriver.feed(r)
        deriver.close()
        self.derived_actions = deriver.actions()
        tl.apply_actions(self.timeline, self.derived_actions)
        self._timeline_withheld()
        self.timeline.sort(key=lambda e: e["seq"] if e["seq"] is not None else 1 << 62)
        self._seq1s = [c.seq1 for c in self.chunks]
        for i in range(len(self._tmins) - 2, -1, -1):  # seq order is not time order
            self._tmins[i] = min(self._tmins[i], self._tmins[i + 1])

    def _timeline_withheld(self) -> None:
        """One ``unverified`` timeline entry per withheld part."""
        for w in self.withheld:
            self.timeline.append(
                {
                    "seq": w.get("seq0"),
                    "t_utc_ns": w.get("t0"),
                    "kind": "replay.withheld",
                    "cat": "unverified",
                    "label": f"withheld (not verified): {w['segment']} {w['reason']}",
                    "page": None,
                    "frame": None,
                    "gap_start_ns": w.get("t0"),
                    "gap_end_ns": w.get("t1"),
                    "seq_last": w.get("seq1"),
                }
            )

    def _index_record(self, r: Record, last_meta: dict[str, int]) -> None:
        p = r.payload
        if r.kind.startswith("rrweb.") and r.page is not None:
            sid = stream_id(r.page, r.frame)
            if r.kind == "rrweb.meta":
                last_meta[sid] = r.seq
                st = self.streams.setdefault(
                    sid,
                    {
                        "id": sid,
                        "page": r.page,
                        "frame": r.frame,
                        "main": r.frame == r.page,
                        "first_seq": r.seq,
                        "t_first_utc_ns": r.t_utc_ns,
                        "urls": [],
                    },
                )
                href = (p.get("data") or {}).get("href")
                if href and (not st["urls"] or st["urls"][-1] != href):
                    st["urls"].append(href)
            elif r.kind == "rrweb.full_snapshot" and sid in last_meta:
                self.keyframes.setdefault(sid, []).append(
                    {"seq": last_meta[sid], "full_seq": r.seq, "t_utc_ns": r.t_utc_ns}
                )
            if sid in self.streams:
                self.streams[sid]["last_seq"] = r.seq
        e = tl.entry(r)
        if e is not None:
            self.timeline.append(e)
            aid = e.get("action_id")
            if aid and e["cat"] == "action":
                self.actions[str(aid)] = e
        if r.kind.startswith("net.") and r.kind not in ("net.asset",) and "request_id" in p:
            index_network(self.network, r)
        elif r.kind == "net.asset" and "sha256" in p:
            a = self.assets.setdefault(
                str(p["sha256"]),
                {"url": p.get("url"), "mime": p.get("mime", ""), "seq": r.seq, "urls": []},
            )
            if p.get("url") and p["url"] not in a.setdefault("urls", []):
                a["urls"].append(p["url"])  # the same bytes served under another URL
        elif r.kind == "page.screenshot" and "sha256" in p and "action_id" in p:
            self.screenshots[str(p["action_id"])] = str(p["sha256"])
            self.assets.setdefault(
                str(p["sha256"]), {"url": "", "mime": p.get("mime", ""), "seq": r.seq}
            )

    # --- reading ---------------------------------------------------------------------------
    def _decode(self, ref: ChunkRef) -> list[Record]:
        key = (ref.seg_pos, ref.idx)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        s = self.segs[ref.seg_pos]
        assert s.file is not None and s.cipher is not None
        row = next(r for r in _rows(s.file, ref.idx))
        recs = decode_chunk(s.file, row, s.cipher)
        self._cache[key] = recs
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return recs

    def _first_chunk(self, seq: int) -> int:
        return max(0, bisect.bisect_right(self._seq1s, seq - 1))

    def records(self, from_seq: int, to_seq: int) -> Iterator[Record]:
        """Verified records with ``from_seq <= seq <= to_seq``, in order."""
        i = self._first_chunk(from_seq)
        while i < len(self.chunks) and self.chunks[i].seq0 <= to_seq:
            for r in self._decode(self.chunks[i]):
                if from_seq <= r.seq <= to_seq:
                    yield r
            i += 1

    def events(
        self,
        from_seq: int,
        to_seq: int,
        *,
        stream: str | None = None,
        rrweb_only: bool = False,
        limit: int = 5000,
        page: str | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Records as dicts (optionally one stream's rrweb events, or one page's events);
        returns (events, next seq when ``limit`` cut the answer short)."""
        out: list[dict[str, Any]] = []
        for r in self.records(from_seq, to_seq):
            if rrweb_only and not r.kind.startswith("rrweb."):
                continue
            if stream is not None and stream_id(r.page, r.frame) != stream:
                continue
            if page is not None and r.page not in (page, None):
                continue
            if len(out) >= limit:
                return out, r.seq
            out.append(r.as_dict())
        return out, None

    def record(self, seq: int) -> Record | None:
        """One verified record by seq."""
        return next(iter(self.records(seq, seq)), None)

    def seq_at(self, t_utc_ns: int) -> int | None:
        """The highest verified seq stamped at or before a UTC time (the first if none is);
        held-back network events make seq order differ from time order, hence ``_tmins``."""
        if not self.chunks:
            return None
        i = bisect.bisect_right(self._tmins, t_utc_ns) - 1
        if i < 0:
            return self.chunks[0].seq0
        return max(r.seq for r in self._decode(self.chunks[i]) if r.t_utc_ns <= t_utc_ns)

    @property
    def seq_range(self) -> tuple[int | None, int | None]:
        """First and last verified seq."""
        if not self.chunks:
            return None, None
        return self.chunks[0].seq0, self.chunks[-1].seq1

    def raw(self, seq: int) -> dict[str, Any]:
        """The journal record behind ``seq`` with its chunk and Merkle inclusion proof."""
        i = self._first_chunk(seq)
        if i >= len(self.chunks) or not self.chunks[i].seq0 <= seq <= self.chunks[i].seq1:
            raise UsageError(f"seq {seq} is not in the verified part of this session")
        ref = self.chunks[i]
        s = self.segs[ref.seg_pos]
        assert s.file is not None
        if s.leaves is None:
            s.leaves = load_leaves(s.file)
        rec = next(r for r in self._decode(ref) if r.seq == seq)
        proof = chunk_proof(s.leaves, ref.idx)
        anchor_ok = s.report.passed or (
            s.report.status == "unsealed" and s.report.first_failure is None
        )
        status = (
            "verified"
            if proof["included"] and anchor_ok
            else ("failed" if not proof["included"] else f"anchor not verified ({s.report.status})")
        )
        d = rec.as_dict()
        # JSON numbers above 2**53 lose digits in a browser: the text keeps them exact.
        return {
            "record": d,
            "record_text": json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False),
            "segment_file": s.path.name,
            "segment_id": s.report.segment_id,
            "chunk": ref.idx,
            "chunk_header": s.leaves.headers[ref.idx],
            "proof": proof,
            "proof_status": status,
            "segment_status": s.report.status,
        }

    # --- summaries -------------------------------------------------------------------------
    def integrity(self) -> dict[str, Any]:
        """The integrity badge: overall status, failing check, key ids, RFC 3161 times."""
        return session_integrity(self.report, self.segs, self.withheld, self.seq_range)

    def missing_assets(self, find_asset: Callable[[str], Path]) -> list[dict[str, Any]]:
        """Assets the journal references that are not in the archive (``find_asset(sha)``
        is where the archive would keep it)."""
        return [
            {"sha256": sha, **a} for sha, a in self.assets.items() if not find_asset(sha).is_file()
        ]

    def metadata(self) -> dict[str, Any]:
        """Who, where, when, how big."""
        i = self.info
        return {
            "session_id": i.session_id,
            "user": i.user,
            "workstation": i.workstation,
            "record_class": i.record_class,
            "retention_rule": i.retention_rule,
            "start_utc_ns": i.start_utc_ns,
            "end_utc_ns": i.end_utc_ns,
            "events": i.event_count,
            "bytes": i.size_bytes,
            "segments": [s.path.name for s in i.segments],
            "closed": i.closed,
            "previous_session": i.previous_session,  # the session this one follows, if linked
        }


def _rows(f: SegmentFile, idx: int) -> Iterator[Any]:
    """The one stored chunk ``idx`` (a point query, not a scan)."""
    row = f.chunk(idx)
    if row is not None:
        yield row
