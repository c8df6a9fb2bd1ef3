"""Which TSA root certificates ``verify`` trusts in a home: configured ones and remembered ones.

A home can *remember* a TSA root: ``<home>/trust/tsa/<name>.pem``. The demo does this when it
starts its local ``openssl ts`` TSA, so that ``verify`` in that home checks the timestamp
chain without ``--tsa-root``. A remembered root is exactly as trustworthy as the home
directory it sits in: whoever can write there can add a root, as he could edit
``seal.tsa_roots`` in the home's config. An examiner verifying a copy passes ``--tsa-root``,
which replaces both.
"""

from __future__ import annotations

import os
from pathlib import Path


def remembered_dir(home: Path) -> Path:
    """``<home>/trust/tsa``: the TSA roots this home remembers."""
    return Path(home) / "trust" / "tsa"


def remember_tsa_root(home: Path, name: str, pem: bytes) -> Path:
    """Write ``pem`` as the remembered root ``<name>.pem`` (directories 0700); return its path."""
    d = remembered_dir(home)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(d.parent, 0o700)
    path = d / f"{name}.pem"
    tmp = path.with_suffix(".pem.tmp")
    tmp.write_bytes(pem)
    os.replace(tmp, path)
    return path


def tsa_root_paths(
    home: Path, configured: list[str], given: list[Path] | None = None
) -> list[Path]:
    """The root PEM files to trust: ``given`` (``--tsa-root``) alone when any, else the
    configured ``seal.tsa_roots`` followed by the home's remembered roots (sorted)."""
    if given:
        return list(given)
    d = remembered_dir(home)
    remembered = sorted(d.glob("*.pem")) if d.is_dir() else []
    return [Path(p) for p in configured] + remembered
