"""Giving freed heap memory back to the operating system.

A long-running agent runs its scheduled jobs (ship, verify, index) on a pool of threads, and
glibc gives each thread its own malloc arena: memory a job freed stays in that arena, so the
process's resident size creeps up to every arena's high-water mark, one job at a time (about
10 MB an hour in a soak, most of it free). ``malloc_trim(0)`` after each job returns the free
pages of every arena. Elsewhere (another C library, another OS) there is nothing to call and
nothing is done: the memory is still correct, only not returned early.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_loaded = False


def _load() -> Callable[[int], int] | None:
    global _trim, _loaded
    if not _loaded:
        _loaded = True
        if sys.platform.startswith("linux"):
            name = ctypes.util.find_library("c")
            try:
                libc = ctypes.CDLL(name) if name else None
            except OSError:
                libc = None
            fn = getattr(libc, "malloc_trim", None) if libc is not None else None
            if fn is not None:
                fn.argtypes = [ctypes.c_size_t]
                fn.restype = ctypes.c_int
                _trim = fn
    return _trim


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS; False where the C library has no way to."""
    fn = _load()
    if fn is None:
        return False
    fn(0)
    return True
