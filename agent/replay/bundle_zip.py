"""A .zip export bundle: recognising one and unpacking it, damaged archives included.

``zipfile`` reports a damaged archive with more than ``BadZipFile``: a corrupt deflate
stream raises ``zlib.error`` or ``EOFError``, a flipped compression-method or encryption flag
``NotImplementedError`` or ``RuntimeError``, impossible offsets ``ValueError``. They are all
translated here, once, into :class:`~agent.errors.InputError`.
"""

from __future__ import annotations

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
    """Unpack a .zip bundle into ``dest``; a damaged archive or a member escaping ``dest``
    is an InputError."""
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                target = (dest / info.filename).resolve()
                if not str(target).startswith(str(dest.resolve()) + "/"):
                    raise InputError(f"{path}: member {info.filename!r} escapes the bundle")
                if info.is_dir():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(info))
    except (*ZIP_ERRORS, OSError) as exc:
        raise InputError(f"{path}: damaged zip ({type(exc).__name__}: {exc})") from exc
