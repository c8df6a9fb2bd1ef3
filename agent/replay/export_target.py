"""Where an export may be written, and what ``--force`` may replace.

An export target is never the state directory, a directory that contains it, a path inside
it, the filesystem root or the user's home directory, with or without ``--force``. An existing
target is replaced only with ``--force`` and only when it is a bundle this tool wrote: a
directory or .zip holding the :data:`MARKER` file and a ``manifest.json`` that parses as a
sessiontape bundle manifest. Anything else is left untouched and the export is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from agent.errors import UsageError, is_disk_full, storage_error

MARKER = "sessiontape-bundle.json"
"""Written into the top of every bundle (and listed in its manifest) by ``export``."""

MARKER_DOC: dict[str, Any] = {"v": 1, "written_by": "sessiontape export"}


def _forbidden(out: Path, home: Path) -> str | None:
    """Why ``out`` may never be an export target, or None."""
    target, state = out.resolve(), home.resolve()
    if target == Path("/"):
        return "it is the filesystem root"
    if target == Path.home().resolve():
        return "it is the user's home directory"
    if target == state:
        return "it is the state directory"
    if state.is_relative_to(target):
        return f"it contains the state directory {state}"
    if target.is_relative_to(state):
        return f"it is inside the state directory {state}"
    return None


def _is_our_manifest(data: bytes) -> bool:
    try:
        doc = json.loads(data)
    except ValueError:
        return False
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("v"), int)
        and str(doc.get("tool", "")).startswith("sessiontape ")
        and isinstance(doc.get("files"), dict)
        and MARKER in doc["files"]
    )


def _is_our_marker(data: bytes) -> bool:
    try:
        return bool(json.loads(data) == MARKER_DOC)
    except ValueError:
        return False


def _not_our_bundle(out: Path) -> str | None:
    """Why the existing ``out`` is not a bundle this tool wrote, or None when it is one."""
    if out.is_symlink():
        return "it is a symbolic link"
    try:
        if out.is_dir():
            marker, manifest = out / MARKER, out / "manifest.json"
            if not marker.is_file() or not _is_our_marker(marker.read_bytes()):
                return f"it has no {MARKER} marker"
            if not manifest.is_file() or not _is_our_manifest(manifest.read_bytes()):
                return "its manifest.json is not a sessiontape bundle manifest"
            return None
        if not out.is_file() or not zipfile.is_zipfile(out):
            return "it is neither a bundle directory nor a bundle .zip"
        with zipfile.ZipFile(out) as z:
            names = set(z.namelist())
            if MARKER not in names or not _is_our_marker(z.read(MARKER)):
                return f"the zip has no {MARKER} marker"
            if "manifest.json" not in names or not _is_our_manifest(z.read("manifest.json")):
                return "the zip's manifest.json is not a sessiontape bundle manifest"
    except (OSError, zipfile.BadZipFile) as exc:
        return f"it cannot be read ({exc})"
    return None


def check_target(out: Path, home: Path, *, force: bool) -> None:
    """Refuse a target that is forbidden, or that exists and may not be replaced."""
    why = _forbidden(out, home)
    if why is not None:
        raise UsageError(f"{out}: refusing to export there: {why}")
    if not (out.exists() or out.is_symlink()):
        return
    if not force:
        raise UsageError(f"{out} exists; refusing to overwrite it (use --force)")
    why = _not_our_bundle(out)
    if why is not None:
        raise UsageError(
            f"{out}: --force replaces only a bundle written by sessiontape export, and {why}; "
            "nothing was deleted"
        )


def build_dir(out: Path) -> Path:
    """A new temporary directory beside ``out`` to build the bundle in (same filesystem, so
    the finished bundle is moved into place by rename)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".st-export-", dir=out.parent))
    except OSError as exc:
        if is_disk_full(exc):
            raise storage_error(out, "export bundle", exc) from exc
        raise UsageError(f"{out}: cannot write a bundle there: {exc.strerror or exc}") from exc


def replace_target(built: Path, out: Path, home: Path, *, force: bool, zipper: Any) -> None:
    """Put the finished bundle directory ``built`` at ``out`` (zipped with ``zipper`` when
    ``out`` ends in .zip); an old bundle is moved aside and removed only once the new one is
    in place."""
    check_target(out, home, force=force)
    old: Path | None = None
    if out.exists() and out.is_dir():
        old = Path(tempfile.mkdtemp(prefix=".st-replaced-", dir=out.parent)) / out.name
        os.replace(out, old)
    try:
        if out.suffix.lower() == ".zip":
            zipper(built, out)  # replaces an old bundle .zip atomically
        else:
            os.replace(built, out)
    except BaseException:
        if old is not None and not out.exists():
            os.replace(old, out)
        raise
    finally:
        if old is not None and out.exists():
            shutil.rmtree(old.parent, ignore_errors=True)
