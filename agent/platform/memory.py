"""Keeping a long-running process's heap from creeping: how glibc malloc is set up, and giving
freed heap memory back to the operating system.

A long-running agent runs its scheduled jobs (ship, verify, index), the browser driver and the
health socket on threads. Left to its defaults, glibc malloc gives each thread that allocates
an arena of its own (up to eight per core; a thread that finds its arena locked may take
another), and an arena never goes away: each one keeps the pages of its high-water mark, and
``malloc_trim`` returns only whole free pages from it. glibc also raises its mmap threshold to
the size of the largest block freed so far (up to 32 MB), so a later burst of large buffers (a
segment read whole, a large browser message) comes from an arena instead of its own mapping.
Both show in a long soak as steps in the resident size at random moments (a new arena, a new
high-water mark), flat in between: in a 30-minute soak the agent's thread arenas grew from 9
to 31 MB (five to six of them) while its main heap and Python's object arenas stayed flat.

:func:`tune_allocator`, called once at start-up before the threads start, caps the arenas at
:data:`ARENA_MAX` and fixes the mmap threshold at :data:`MMAP_THRESHOLD` (a fixed value turns
off the dynamic one, so large blocks are mapped, and unmapped on free); the one thread arena
then moves between 1 and 7 MB and does not grow. ``malloc_trim(0)`` after each job
(:func:`release_free_memory`) returns the free pages that remain inside the arenas.

Elsewhere (another C library, another OS) there is nothing to call and nothing is done: the
memory is still correct, only not bounded as tightly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from dataclasses import dataclass

import structlog

log = structlog.get_logger("sessiontape.platform")

ARENA_MAX = 2  # the main arena and one for every other thread
MMAP_THRESHOLD = 256 * 1024  # blocks this size or larger get their own mapping
_M_MMAP_THRESHOLD = -3  # mallopt parameter numbers from glibc's <malloc.h>
_M_ARENA_MAX = -8

_libc: ctypes.CDLL | None = None
_loaded = False


@dataclass(frozen=True, slots=True)
class AllocatorTuning:
    """What :func:`tune_allocator` set; ``applied`` is False where nothing could be set."""

    applied: bool
    arena_max: int = 0
    mmap_threshold: int = 0
    reason: str = ""


def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (it has ``malloc_trim`` and ``mallopt``)."""
    global _libc, _loaded
    if not _loaded:
        _loaded = True
        if sys.platform.startswith("linux"):
            name = ctypes.util.find_library("c")
            try:
                libc = ctypes.CDLL(name) if name else None
            except OSError:
                libc = None
            if libc is not None and all(
                hasattr(libc, f) for f in ("malloc_trim", "mallopt", "gnu_get_libc_version")
            ):
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                libc.malloc_trim.restype = ctypes.c_int
                libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                libc.mallopt.restype = ctypes.c_int
                _libc = libc
    return _libc


def tune_allocator(
    arena_max: int = ARENA_MAX, mmap_threshold: int = MMAP_THRESHOLD
) -> AllocatorTuning:
    """Cap glibc's malloc arenas and fix its mmap threshold for this process.

    Call it before the process starts its threads: an arena made before the cap stays.
    Off glibc it does nothing and says so in a log line.
    """
    libc = _glibc()
    if libc is None:
        log.info("platform.allocator_untuned", reason="the C library is not glibc")
        return AllocatorTuning(applied=False, reason="the C library is not glibc")
    failed = [
        name
        for name, param, value in (
            ("arena_max", _M_ARENA_MAX, arena_max),
            ("mmap_threshold", _M_MMAP_THRESHOLD, mmap_threshold),
        )
        if libc.mallopt(param, value) != 1
    ]
    if failed:
        reason = f"mallopt refused {', '.join(failed)}"
        log.warning("platform.allocator_untuned", reason=reason)
        return AllocatorTuning(applied=False, reason=reason)
    log.debug("platform.allocator_tuned", arena_max=arena_max, mmap_threshold=mmap_threshold)
    return AllocatorTuning(applied=True, arena_max=arena_max, mmap_threshold=mmap_threshold)


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS; False where the C library has no way to."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
