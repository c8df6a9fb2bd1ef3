"""A .zip export bundle: recognising one and unpacking it, damaged archives included.

``zipfile`` reports a damaged archive with more than ``BadZipFile``: a corrupt deflate
stream raises ``zlib.error`` or ``EOFError``, a flipped compression-method or encryption flag
``NotImplementedError`` or ``RuntimeError``, impossible offsets ``ValueError``. They are all
translated here, once, into :class:`~agent.errors.InputError`.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path

from agent.errors import InputError

ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


MAX_MEMBERS = 1_000_000
MAX_UNPACKED_BYTES = 64 * 1024**3  # far above any bundle export writes; a zip bomb is not


def is_zip_bundle(path: Path) -> bool:
    """A .zip file with a manifest.json at its top; a damaged .zip counts (so that verifying
    it reports the damage instead of reading it as a segment)."""
    if not (path.is_file() and zipfile.is_zipfile(path)):
        return False
    try:
        with zipfile.ZipFile(path) as z:
            return "manifest.json" in z.namelist()
    except (*ZIP_ERRORS, OSError):
        return True


def unzip_bundle(path: Path, dest: Path) -> None:
    """Unpack a .zip bundle into ``dest``; a damaged archive, a member escaping ``dest``, a
    symbolic link, or more than ``MAX_MEMBERS`` / ``MAX_UNPACKED_BYTES`` is an InputError."""
    root = str(dest.resolve()) + "/"
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_MEMBERS:
                raise InputError(f"{path}: {len(infos)} members (at most {MAX_MEMBERS})")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNPACKED_BYTES:
                raise InputError(f"{path}: unpacks to {total} bytes (at most {MAX_UNPACKED_BYTES})")
            for info in infos:
                target = (dest / info.filename).resolve()
                if not str(target).startswith(root):
                    raise InputError(f"{path}: member {info.filename!r} escapes the bundle")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise InputError(f"{path}: member {info.filename!r} is a symbolic link")
                if info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                # zipfile stops at the declared size and checks the CRC: no member grows.
                target.write_bytes(z.read(info))
    except (*ZIP_ERRORS, OSError) as exc:
        raise InputError(f"{path}: damaged zip ({type(exc).__name__}: {exc})") from exc
