"""Bounding the heap of a long-running process: the glibc allocator capped at a few arenas with
a fixed mmap threshold (in a fresh process, and in the real ``sessiontape agent``), and freed
memory returned: after a burst of allocations is freed around a few survivors (the pattern a
job leaves in its thread's malloc arena), the resident size goes back down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.platform.memory import ARENA_MAX, release_free_memory
from tests.journals import write_session
from tests.waiting import wait_until

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
HEAP_SPAN = 64 * MB  # glibc reserves each thread arena's heap as one aligned 64 MiB span
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc malloc is Linux's"
)

# Run in a fresh interpreter: eight threads each malloc a block and wait until all eight hold
# one (so no thread can reuse an arena another thread gave up); then the number of arenas in
# malloc_info. Then an 8 MiB block freed (glibc's dynamic threshold rises to its size) and a
# 1 MiB one allocated: mapped on its own or taken from a heap (the mmapped-chunk count).
_PROBE = r"""
import ctypes, ctypes.util, json, os, re, sys, tempfile, threading
from agent.platform.memory import tune_allocator

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fclose.argtypes = [ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]

def info():
    fd, path = tempfile.mkstemp()
    os.close(fd)
    fp = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    with open(path) as f:
        xml = f.read()
    os.unlink(path)
    mmap = re.findall(r'<total type="mmap" count="(\d+)"', xml)[-1]
    return len(re.findall(r'<heap nr="\d+">', xml)), int(mmap)

tuning = tune_allocator() if sys.argv[1] == "tuned" else None
held, done = threading.Barrier(9), threading.Event()
def worker():
    block = libc.malloc(1000)
    held.wait()
    done.wait()
    libc.free(block)
threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads:
    t.start()
held.wait()
arenas, _ = info()
done.set()
for t in threads:
    t.join()
libc.free(libc.malloc(8 << 20))
_, mapped_before = info()
block = libc.malloc(1 << 20)
_, mapped_after = info()
libc.free(block)
print(json.dumps({"applied": tuning.applied if tuning else None, "arenas": arenas,
                  "mapped": mapped_after - mapped_before}))
"""


def _probe(mode: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MALLOC_ARENA_MAX", None)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    ).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
    return result


@linux_only
def test_tuned_allocator_keeps_to_the_arena_cap_and_maps_large_blocks() -> None:
    """Untuned, eight busy threads get arenas of their own and a 1 MiB block after an 8 MiB
    one comes from a heap; tuned, the threads share ARENA_MAX arenas and the block is mapped
    (so freeing it unmaps it)."""
    untuned, tuned = _probe("untuned"), _probe("tuned")
    assert isinstance(untuned["arenas"], int) and untuned["arenas"] > ARENA_MAX, untuned
    assert untuned["mapped"] == 0, untuned
    assert tuned == {"applied": True, "arenas": ARENA_MAX, "mapped": 1}


def _thread_arenas(pid: int) -> list[int]:
    """Start addresses of the thread arenas in ``pid``'s maps: a read-write span at a 64 MiB
    boundary whose reserved (``---p``) rest ends exactly 64 MiB later."""
    rows = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        f = line.split()
        start, end = (int(x, 16) for x in f[0].split("-"))
        rows.append((start, end, f[1], len(f) > 5))
    found = []
    for (start, end, perm, named), nxt in zip(rows, [*rows[1:], None], strict=True):
        if start % HEAP_SPAN or perm != "rw-p" or named:
            continue
        if nxt is not None and nxt[0] == end and nxt[2] == "---p":
            end = nxt[1]
        if end - start == HEAP_SPAN:
            found.append(start)
    return found


@linux_only
def test_the_agent_process_runs_its_jobs_within_the_arena_cap(tmp_path: Path) -> None:
    """`sessiontape agent --no-browser` ships a journal on its scheduler's threads; its maps
    then hold at most ARENA_MAX - 1 thread arenas (the main thread has the main one)."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    write_session(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESSIONTAPE_"))}
    env.pop("MALLOC_ARENA_MAX", None)
    env["PYTHONPATH"] = str(ROOT)
    env["SESSIONTAPE_SHIP_INTERVAL_SECONDS"] = "1"
    env["SESSIONTAPE_SHIP_CHECKPOINT_INTERVAL_SECONDS"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.main", "--home", str(home), "agent", "--no-browser"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        vault = home / "vault" / "objects" / "segments"
        wait_until(
            lambda: list(vault.rglob("*.stj.obj.json")),
            what="`sessiontape agent` to ship the session's segment",
        )
        threads = len(list(Path(f"/proc/{proc.pid}/task").iterdir()))
        arenas = _thread_arenas(proc.pid)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert threads > ARENA_MAX, threads
    assert 1 <= len(arenas) <= ARENA_MAX - 1, [hex(a) for a in arenas]


@linux_only
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


def _rss_anon() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")
