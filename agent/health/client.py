"""What ``sessiontape status`` asks: the agent's socket, else the status file it left.

The socket speaks HTTP/1.0 over ``<home>/run/agent.sock``; one request, one answer, a short
timeout (a hung agent is reported as not answering, with the status file's last word).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from agent.errors import InputError
from agent.health.board import STATUS_VERSION
from agent.health.server import SOCKET_FILE, STATUS_FILE, run_dir

TIMEOUT_S = 3.0
_MAX_ANSWER = 4 * 1024 * 1024


def ask(home: Path, path: str = "/status", timeout_s: float = TIMEOUT_S) -> bytes | None:
    """The body of ``GET path`` from the agent serving ``home``, or None if none answers."""
    sock_path = run_dir(home) / SOCKET_FILE
    chunks: list[bytes] = []
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout_s)
            s.connect(str(sock_path))
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: agent\r\n\r\n".encode())
            size = 0
            while size < _MAX_ANSWER and (chunk := s.recv(65536)):
                chunks.append(chunk)
                size += len(chunk)
    except OSError:
        return None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or status_line[1] != b"200":
        return None
    return body


def query_status(home: Path) -> dict[str, Any] | None:
    """The live status document, or None when no agent answers."""
    body = ask(home)
    if body is None:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def read_status_file(home: Path) -> dict[str, Any] | None:
    """The last status an agent wrote for ``home``, or None when there is none. A file that is
    not a status document, or of another version, is an InputError naming it."""
    path = run_dir(home) / STATUS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the status file: {exc.strerror}") from exc
    try:
        doc = json.loads(text)
    except ValueError:
        raise InputError(f"{path}: not a status document (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("v") != STATUS_VERSION:
        got = doc.get("v") if isinstance(doc, dict) else None
        raise InputError(f"{path}: status file version {got!r} is not {STATUS_VERSION}")
    return doc
