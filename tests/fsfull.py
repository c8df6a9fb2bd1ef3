"""A real, small filesystem that tests fill up: a tmpfs mounted for one test.

``small_fs`` mounts ``tmpfs -o size=...`` on a fresh directory (root is needed, as in CI; the
test is skipped naming the reason when the mount is refused) and unmounts it afterwards.
:meth:`SmallFs.fill` writes a ballast file until the filesystem answers ENOSPC and then gives
back ``leave`` bytes; :meth:`SmallFs.free` deletes the ballast.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_BLOCK = 64 * 1024


class SmallFs:
    """A mounted tmpfs and its ballast file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ballast = path / ".ballast"

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer could still use."""
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Fill the filesystem to ENOSPC with the ballast, then free ``leave`` bytes of it."""
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            block = b"\xa5" * _BLOCK
            while True:
                try:
                    if os.write(fd, block[: max(4096, min(_BLOCK, self.free_bytes()))]) == 0:
                        break
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
            if leave:
                size = os.fstat(fd).st_size
                os.ftruncate(fd, max(0, size - leave))
        finally:
            os.close(fd)

    def free(self) -> None:
        """Delete the ballast: the space it held is free again."""
        self.ballast.unlink(missing_ok=True)


def mount_tmpfs(path: Path, size_kib: int) -> str | None:
    """Mount a tmpfs of ``size_kib`` KiB on ``path``; None, or why it could not be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        res = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run mount: {exc}"
    if res.returncode != 0:
        return f"mount -t tmpfs refused (needs root/CAP_SYS_ADMIN): {res.stderr.strip()}"
    return None


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[int], SmallFs]]:
    """Factory: ``small_fs(size_kib)`` mounts a fresh tmpfs of that size (unmounted after)."""
    mounted: list[Path] = []

    def make(size_kib: int) -> SmallFs:
        path = tmp_path / f"fs{len(mounted)}"
        why = mount_tmpfs(path, size_kib)
        if why is not None:
            pytest.skip(why)
        mounted.append(path)
        return SmallFs(path)

    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)
