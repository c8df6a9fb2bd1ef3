"""Returning freed heap memory: after a burst of allocations is freed around a few survivors
(the pattern a job leaves in its thread's malloc arena), the resident size goes back down."""

from __future__ import annotations

import sys
import threading

import pytest

from agent.platform.memory import release_free_memory

MB = 1024 * 1024


def _rss_anon() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim is Linux's")
def test_freed_memory_pinned_by_survivors_is_returned() -> None:
    """160 MB of 1 KB blocks allocated in a worker thread, seven of every eight freed: the
    survivors pin the arena, so the pages stay resident until release_free_memory()."""
    kept: list[bytes] = []

    def job() -> None:
        blocks = [bytes(1000) + bytes([i % 251]) for i in range(160_000)]
        kept.extend(blocks[::8])
        del blocks

    t = threading.Thread(target=job)
    t.start()
    t.join()
    before = _rss_anon()
    assert release_free_memory() is True
    after = _rss_anon()
    assert before - after > 60 * MB, (before // MB, after // MB)
    assert len(kept) == 20_000
