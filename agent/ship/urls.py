"""Vault URLs → vault backends: the one place that knows which scheme opens which class.

* ``s3://bucket/prefix`` - :class:`agent.ship.s3.S3Vault`;
* ``file:///path`` - :class:`agent.ship.filevault.FileVault`;
* ``memory://`` - :class:`agent.ship.testing.MemoryVault`, only when the caller passes
  ``allow_memory=True``. Tests do; configuration and the CLI never can, so a memory vault
  (which forgets everything when the process exits) is never mistaken for WORM storage.
"""

from __future__ import annotations

from typing import Any

from agent.errors import ConfigError
from agent.ship.vault import Vault

MEMORY_SCHEME = "memory://"


def open_vault(url: str, *, allow_memory: bool = False, **kwargs: Any) -> Vault:
    """Open a vault from its URL: ``s3://bucket/prefix`` or ``file:///path``.

    ``memory://`` is refused with a :class:`~agent.errors.ConfigError` unless
    ``allow_memory`` is true (tests only).
    """
    if url.startswith("s3://"):
        from agent.ship.s3 import S3Vault

        return S3Vault.from_url(url, **kwargs)
    if url.startswith("file://"):
        from agent.ship.filevault import FileVault

        return FileVault.from_url(url, **kwargs)
    if url.startswith(MEMORY_SCHEME):
        if not allow_memory:
            raise ConfigError(
                f"ship.vault_url: {url!r} is a memory vault, which is for tests only "
                "(it keeps nothing once the process exits); use s3://bucket/prefix or "
                "file:///path"
            )
        from agent.ship.testing import MemoryVault

        return MemoryVault(**kwargs)
    raise ConfigError(
        f"ship.vault_url: unsupported vault URL {url!r} (use s3://bucket/prefix or file:///path)"
    )
