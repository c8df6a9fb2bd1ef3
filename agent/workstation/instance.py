"""One workstation agent per state directory: a second one would record a second browser on
the same profile and "recover" the first one's open segment under its feet."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from agent.errors import UsageError

LOCK_NAME = "workstation.lock"


@contextlib.contextmanager
def single_instance(home: Path) -> Iterator[None]:
    """Hold ``<home>/workstation.lock`` (an exclusive ``flock``, released by the kernel when
    the process dies, even by SIGKILL) while the block runs; another holder is a
    :class:`UsageError` naming its pid."""
    path = home / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise UsageError(
                f"{home}: another sessiontape agent (pid {holder}) is already recording "
                "from this state directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
