"""Helpers for the replay tests: copies of a state dir, a bundle recipient's key pair, the real
CLI, a running viewer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from agent.config import Config

CHROMIUM = "/usr/lib/chromium/chromium"


@dataclass
class Recorded:
    """The demo session recorded once for all replay tests (``recorded`` fixture)."""

    home: Path
    session_id: str
    config: Config
    tsa_root: Path


def copy_home(src: Path, dst: Path) -> Path:
    """A copy of a state dir (journals, keys, assets) to tamper with."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.lock", "logs"))
    return dst


def write_recipient_keys(d: Path) -> tuple[Path, Path]:
    """A new X25519 key pair of an export bundle's recipient, written to ``d``: (private key
    PEM ``me.pem``, public key PEM ``me.pub.pem``)."""
    priv = X25519PrivateKey.generate()
    key, pub = d / "me.pem", d / "me.pub.pem"
    key.write_bytes(
        priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub.write_bytes(
        priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key, pub


def cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.main", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(home.parent),
    )


@dataclass
class Viewer:
    """A running `sessiontape replay` process and its URL."""

    proc: subprocess.Popen[str]
    url: str
    lines: list[str]

    @property
    def port(self) -> int:
        m = re.match(r"http://127\.0\.0\.1:(\d+)/", self.url)
        assert m
        return int(m.group(1))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        m = re.search(r"token=([^&#]+)", self.url)
        assert m
        return m.group(1)


def start_viewer(home: Path, session: str, *extra: str) -> Iterator[Viewer]:
    """Start `sessiontape replay SESSION --no-open` and yield once it prints its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli.main",
            "--home",
            str(home),
            "replay",
            session,
            "--no-open",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    url = ""
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("replay viewer: "):
            url = line.split(": ", 1)[1].strip()
            break
    if not url:
        proc.kill()
        raise AssertionError("viewer did not start: " + "\n".join(lines))
    try:
        yield Viewer(proc, url, lines)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
