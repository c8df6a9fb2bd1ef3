"""The in-page recorder bundle: load it, refuse a mismatched one, build its injection source.

The bundle is built from ``recorder_js/`` by one script, ``python recorder_js/build.py``, into
``agent/capture/bundle/recorder.js`` + ``bundle.json``. ``load_bundle`` refuses a bundle whose
bytes do not match ``bundle.json`` or whose version differs from ``EXPECTED_VERSION``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from agent.canonical import sha256_hex
from agent.errors import CaptureError

BUNDLE_DIR = Path(__file__).resolve().parent / "bundle"
REPLAY_DIR = Path(__file__).resolve().parent.parent / "replay" / "static"
RECORDER_JS_DIR = Path(__file__).resolve().parents[2] / "recorder_js"

#: Name of the isolated world the recorder runs in; its private binding is added there only.
WORLD_NAME = "__sessiontape"

# Files of recorder_js/ whose bytes determine the built bundle.
_SOURCE_GLOBS = ("src/**/*.js", "package.json", "package-lock.json", "build.py")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return sha256_hex(path.read_bytes())


def source_files(root: Path = RECORDER_JS_DIR) -> list[Path]:
    """The recorder's source files, sorted by their POSIX path relative to ``root``."""
    files: set[Path] = set()
    for pattern in _SOURCE_GLOBS:
        files.update(p for p in root.glob(pattern) if p.is_file())
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def sources_sha256(root: Path = RECORDER_JS_DIR) -> str:
    """SHA-256 over (relative path, length, bytes) of every source file, in sorted order."""
    h = hashlib.sha256()
    for path in source_files(root):
        data = path.read_bytes()
        h.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def expected_version(directory: Path = BUNDLE_DIR) -> str:
    """The recorder version this build of the agent accepts (``EXPECTED_VERSION``)."""
    return (directory / "EXPECTED_VERSION").read_text(encoding="utf-8").strip()


def load_bundle(directory: Path = BUNDLE_DIR) -> tuple[str, dict[str, Any]]:
    """Return ``(recorder source, bundle.json)``; raise CaptureError on any mismatch."""
    js_path = directory / "recorder.js"
    meta_path = directory / "bundle.json"
    try:
        raw = js_path.read_bytes()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        want = expected_version(directory)
    except (OSError, ValueError) as exc:
        raise CaptureError(f"recorder bundle unreadable in {directory}: {exc}") from exc
    if not isinstance(meta, dict):
        raise CaptureError(f"{meta_path}: bundle.json is not an object")
    got = sha256_hex(raw)
    if meta.get("recorder_sha256") != got:
        raise CaptureError(
            f"{js_path}: recorder sha256 {got[:16]}... does not match bundle.json "
            f"({str(meta.get('recorder_sha256'))[:16]}...); rebuild with recorder_js/build.py"
        )
    if meta.get("version") != want:
        raise CaptureError(
            f"{meta_path}: recorder version {meta.get('version')!r} != expected {want!r}"
        )
    return raw.decode("utf-8"), meta


def injection_source(config: dict[str, Any], bundle: str | None = None) -> str:
    """The source for ``Page.addScriptToEvaluateOnNewDocument``: config line + bundle."""
    if "binding" not in config:
        raise CaptureError("recorder config needs a 'binding' name")
    src = bundle if bundle is not None else load_bundle()[0]
    return "globalThis.__ST_CFG = " + json.dumps(config, separators=(",", ":")) + ";\n" + src
