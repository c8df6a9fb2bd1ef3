"""The ``derived`` check of a bundle: events.jsonl, network.har and actions.csv re-derived
from the segment copies (with the data keys) and compared byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.events import Record
from agent.journal.reader import SegmentFile, decode_chunk
from agent.keys import Keyring
from agent.replay import derive
from agent.seal.crypto import ChunkCipher
from agent.seal.verify import Check

if TYPE_CHECKING:
    from agent.replay.bundle_verify import BundleReport

DERIVED_FILES = ("native/events.jsonl", "native/network.har", "native/actions.csv")


def _records(
    segs: list[Path], deks: dict[str, bytes] | None, keyring: Keyring | None, rep: BundleReport
) -> list[tuple[str, Record]] | None:
    items: list[tuple[str, Record]] = []
    by_path = {s.path: s for s in rep.segments.segments} if rep.segments else {}
    for p in segs:
        seg = SegmentFile(p)
        try:
            if deks is not None and seg.segment_id in deks:
                cipher = ChunkCipher(deks[seg.segment_id])
            elif keyring is not None and keyring.can_open(seg.genesis):
                cipher = seg.cipher(keyring)
            else:
                return None
            n_ok = by_path[str(p)].chunks_verified if str(p) in by_path else 0
            for row in seg.iter_chunks():
                if row.idx >= n_ok:
                    break
                items.extend((seg.session_id, r) for r in decode_chunk(seg, row, cipher))
        finally:
            seg.close()
    return items


def _events_match(root: Path, rep: BundleReport, items: list[tuple[str, Record]]) -> bool:
    """events.jsonl line by line against the re-derived events; a difference names the seq."""
    got = (root / "native" / "events.jsonl").read_bytes().splitlines()
    want = derive.events_jsonl(items).splitlines()
    for i in range(max(len(got), len(want))):
        if i >= len(got) or i >= len(want) or got[i] != want[i]:
            seq = items[i][1].seq if i < len(items) else None
            rep.checks.append(
                Check(
                    "derived",
                    False,
                    "event differs from the sealed segments",
                    f"native/events.jsonl line {i + 1}, seq {seq}",
                )
            )
            return False
    return True


def check_derived(
    root: Path,
    rep: BundleReport,
    segs: list[Path],
    manifest: dict[str, Any],
    deks: dict[str, bytes] | None,
    keyring: Keyring | None,
) -> None:
    """``derived``: re-derive the derived files from the segments and compare them (checked
    by manifest hash only when no data keys are at hand; a missing file fails)."""
    try:
        items = _records(segs, deks, keyring, rep)
    except Exception as exc:  # a segment that does not decrypt is named, not a crash
        rep.checks.append(Check("derived", False, f"segments do not decode: {exc}", ""))
        return
    if items is None:
        rep.checks.append(
            Check(
                "derived",
                None,
                "no data keys: events.jsonl, network.har and "
                "actions.csv are checked by manifest hash only",
            )
        )
        return
    missing = [rel for rel in DERIVED_FILES if not (root / rel).is_file()]
    if missing:
        rep.checks.extend(
            Check("derived", False, "missing from the bundle: nothing to compare", rel)
            for rel in missing
        )
        return
    sessions = manifest.get("sessions")  # signed, but a buggy exporter must not crash us
    order = (
        [s.get("session_id") for s in sessions if isinstance(s, dict)]
        if isinstance(sessions, list)
        else []
    )
    items.sort(key=lambda it: (order.index(it[0]) if it[0] in order else len(order), it[1].seq))
    rep.derived_checked = True
    ok = _events_match(root, rep, items)
    for rel, fn in (("native/network.har", derive.har), ("native/actions.csv", derive.actions_csv)):
        if (root / rel).read_bytes() != fn(items):
            rep.checks.append(
                Check("derived", False, "differs from what the sealed segments give", rel)
            )
            ok = False
    if ok:
        rep.checks.append(
            Check(
                "derived",
                True,
                f"{len(items)} events re-derived from the "
                "segments: events.jsonl, network.har, actions.csv match",
            )
        )
