"""The file backend: keys as 0600 files in 0700 directories under ``<home>/keys/``.

Layout::

    signing/<key_id>.pem      Ed25519 private keys (PKCS#8 PEM); the newest is current
    signing/CURRENT           the current signing key id
    kek/<kek_id>.key          32-byte AES key-encryption keys (raw); old ones kept for reading
    kek/CURRENT               the current KEK id

A key file that another account owns or could read is refused, never used.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import KeyMaterialError
from agent.keystore.base import KeySigner, KeyStore, Signer, kek_id, signing_key_id
from agent.keystore.perms import check_key_file, private_dir
from agent.seal.crypto import unwrap_dek, wrap_dek

_KEK_ID = re.compile(r"^kek:[0-9a-f]{16}\Z")


def write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` (0600, in a 0700 directory) holding ``data``, durably."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


class FileKeyStore(KeyStore):
    """Signing keys and KEKs as files of the agent's account."""

    backend = "file"

    def __init__(self, keys_dir: Path) -> None:
        self.dir = keys_dir

    def describe(self) -> str:
        return f"file ({self.dir})"

    # --- creation -------------------------------------------------------------------------
    def has_signing_key(self) -> bool:
        return (self.dir / "signing" / "CURRENT").exists()

    def has_kek(self) -> bool:
        return (self.dir / "kek" / "CURRENT").exists()

    def new_signing_key(self) -> Signer:
        priv = Ed25519PrivateKey.generate()
        signer = KeySigner("", priv)
        signer.key_id = signing_key_id(signer.public_raw)
        pem = priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_secret(self.dir / "signing" / f"{signer.key_id.split(':')[1]}.pem", pem)
        self._set_current("signing", signer.key_id)
        return signer

    def new_kek(self) -> str:
        kek = secrets.token_bytes(32)
        kid = kek_id(kek)
        write_secret(self.dir / "kek" / f"{kid.split(':')[1]}.key", kek)
        self._set_current("kek", kid)
        return kid

    def _set_current(self, kind: str, kid: str) -> None:
        p = self.dir / kind / "CURRENT"
        tmp = p.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (kid + "\n").encode())
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, p)

    # --- use ------------------------------------------------------------------------------
    def _current(self, kind: str) -> str:
        p = self.dir / kind / "CURRENT"
        try:
            return p.read_text().strip()
        except FileNotFoundError:
            raise KeyMaterialError(
                f"no {kind} key in {self.dir} (run `sessiontape keys init`)"
            ) from None

    def current_kek_id(self) -> str:
        return self._current("kek")

    def signer(self) -> Signer:
        kid = self._current("signing")
        path = self.dir / "signing" / f"{kid.split(':')[1]}.pem"
        check_key_file(path, "signing key file")
        try:
            priv = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyMaterialError(f"{path}: cannot read signing key: {exc}") from exc
        if not isinstance(priv, Ed25519PrivateKey):
            raise KeyMaterialError(f"{path}: not an Ed25519 key")
        return KeySigner(kid, priv)

    def _kek(self, kid: str) -> bytes | None:
        """A KEK by id, or None when not held (or ``kid`` is not a KEK id: the id comes from
        a segment's genesis and names a file, so only ``kek:<16 hex>``)."""
        if not _KEK_ID.match(kid):
            return None
        path = self.dir / "kek" / f"{kid.split(':', 1)[1]}.key"
        check_key_file(path, "KEK file")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(data) != 32 or kek_id(data) != kid:
            raise KeyMaterialError(f"{path}: KEK file is corrupt")
        return data

    def wrap(self, dek: bytes) -> tuple[str, bytes]:
        kid = self._current("kek")
        kek = self._kek(kid)
        if kek is None:
            raise KeyMaterialError(f"current KEK {kid} missing from {self.dir / 'kek'}")
        return kid, wrap_dek(kek, dek)

    def holds(self, kid: str) -> bool:
        return self._kek(kid) is not None

    def unwrap(self, kid: str, wrapped: bytes, *, where: str) -> bytes:
        kek = self._kek(kid)
        if kek is None:
            raise KeyMaterialError(f"{where}: decryption key {kid} is not in this keyring")
        try:
            return unwrap_dek(kek, wrapped, where=where)
        except KeyMaterialError:
            raise KeyMaterialError(f"{where}: data key does not unwrap with KEK {kid}") from None

    def ids(self) -> dict[str, list[str]]:
        return {
            "signing": ["ed25519:" + f.stem for f in sorted((self.dir / "signing").glob("*.pem"))],
            "kek": ["kek:" + f.stem for f in sorted((self.dir / "kek").glob("*.key"))],
        }
