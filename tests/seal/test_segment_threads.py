"""Segments read from several threads at once (the agent verifies a sealed session while its
index job reads segments): each thread gets every record, and nothing crashes. A decompression
context shared between threads once crashed the agent at shutdown after a long recording."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.journal.reader import iter_records
from agent.journal.store import list_sessions
from agent.keys import Keyring
from tests.journals import write_session


def test_concurrent_readers_each_get_every_record(tmp_path: Path) -> None:
    write_session(tmp_path, chunks_per_segment=400, events_per_chunk=40)
    kr = Keyring.load(tmp_path)
    (info,) = list_sessions(tmp_path)
    (seg,) = info.segments

    def read(_: int) -> list[int]:
        return [r.seq for r in iter_records(seg.path, kr)]

    alone = read(0)
    assert len(alone) >= 400 * 40
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(read, range(12)))
    assert all(r == alone for r in results)
