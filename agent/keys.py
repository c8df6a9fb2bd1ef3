"""Key material in the state directory, and the trust store used to verify.

Layout under ``<home>/keys/`` (files 0600, directories 0700)::

    signing/<key_id>.pem      Ed25519 private keys (PKCS#8 PEM); the newest is current
    signing/CURRENT           the current signing key id
    kek/<kek_id>.key          32-byte AES key-encryption keys (raw); old ones kept for reading
    kek/CURRENT               the current KEK id
    trusted/<key_id>.pub      raw 32-byte Ed25519 public keys trusted by ``verify``

Key ids are ``ed25519:<first 16 hex of SHA-256(raw public key)>`` and
``kek:<first 16 hex of SHA-256(b"sessiontape-kek-id" || kek)>``. Rotation writes a new key and
moves CURRENT; old private/KEK files stay so old journals remain verifiable and readable.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.canonical import sha256_hex
from agent.errors import KeyMaterialError


def signing_key_id(public_raw: bytes) -> str:
    """The key id of a raw Ed25519 public key."""
    return "ed25519:" + sha256_hex(public_raw)[:16]


_KEK_ID = re.compile(r"^kek:[0-9a-f]{16}\Z")


def kek_id(kek: bytes) -> str:
    """The id of a key-encryption key (does not reveal the key)."""
    return "kek:" + sha256_hex(b"sessiontape-kek-id" + kek)[:16]


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def _public_raw(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass
class Signer:
    """An Ed25519 signing key with its id."""

    key_id: str
    private: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` (the caller passes canonical bytes it has hashed/committed to)."""
        return self.private.sign(data)

    @property
    def public_raw(self) -> bytes:
        return _public_raw(self.private.public_key())


@dataclass
class TrustStore:
    """Public keys trusted for verification, by key id."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, path: Path) -> TrustStore:
        """Load every ``*.pub`` (raw 32 bytes or hex text) in ``path``."""
        ts = cls()
        if not path.is_dir():
            return ts
        for f in sorted(path.glob("*.pub")):
            data = f.read_bytes().strip()
            try:
                raw = bytes.fromhex(data.decode("ascii")) if len(data) == 64 else data
                pub = Ed25519PublicKey.from_public_bytes(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise KeyMaterialError(f"{f}: not an Ed25519 public key") from exc
            ts.keys[signing_key_id(raw)] = pub
        return ts

    def verify(self, key_id: str, signature: bytes, data: bytes) -> bool | None:
        """True/False for a trusted key; None when ``key_id`` is not trusted."""
        pub = self.keys.get(key_id)
        if pub is None:
            return None
        try:
            pub.verify(signature, data)
            return True
        except InvalidSignature:
            return False


class Keyring:
    """The agent's keys: signing key, KEKs, trust store."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.dir = home / "keys"

    # --- creation / rotation -------------------------------------------------------------
    @classmethod
    def load(cls, home: Path) -> Keyring:
        """Open the keyring without creating anything."""
        return cls(home)

    @classmethod
    def load_or_init(cls, home: Path) -> Keyring:
        """Open the keyring, creating the signing key and KEK on first use."""
        kr = cls(home)
        kr.init()
        return kr

    def init(self) -> bool:
        """Create a signing key and a KEK if there are none; True when something was created."""
        created = False
        if not (self.dir / "signing" / "CURRENT").exists():
            self.rotate_signing()
            created = True
        if not (self.dir / "kek" / "CURRENT").exists():
            self.rotate_kek()
            created = True
        return created

    def rotate_signing(self) -> str:
        """Create a new Ed25519 signing key, trust it, make it current; return its id."""
        priv = Ed25519PrivateKey.generate()
        raw = _public_raw(priv.public_key())
        kid = signing_key_id(raw)
        pem = priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_secret(self.dir / "signing" / f"{kid.split(':')[1]}.pem", pem)
        self._trust_raw(raw)
        self._set_current("signing", kid)
        return kid

    def rotate_kek(self) -> str:
        """Create a new 256-bit KEK and make it current; old KEKs stay for reading."""
        kek = secrets.token_bytes(32)
        kid = kek_id(kek)
        _write_secret(self.dir / "kek" / f"{kid.split(':')[1]}.key", kek)
        self._set_current("kek", kid)
        return kid

    def _trust_raw(self, raw: bytes) -> None:
        d = self.dir / "trusted"
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        (d / f"{signing_key_id(raw).split(':')[1]}.pub").write_bytes(raw.hex().encode())

    def _set_current(self, kind: str, kid: str) -> None:
        p = self.dir / kind / "CURRENT"
        tmp = p.with_suffix(".tmp")
        tmp.write_text(kid + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, p)

    # --- access ---------------------------------------------------------------------------
    def _current(self, kind: str) -> str:
        p = self.dir / kind / "CURRENT"
        try:
            return p.read_text().strip()
        except FileNotFoundError:
            raise KeyMaterialError(
                f"no {kind} key in {self.dir} (run `sessiontape keys init`)"
            ) from None

    def signer(self) -> Signer:
        """The current signing key."""
        kid = self._current("signing")
        path = self.dir / "signing" / f"{kid.split(':')[1]}.pem"
        try:
            priv = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyMaterialError(f"{path}: cannot read signing key: {exc}") from exc
        if not isinstance(priv, Ed25519PrivateKey):
            raise KeyMaterialError(f"{path}: not an Ed25519 key")
        return Signer(kid, priv)

    def current_kek(self) -> tuple[str, bytes]:
        """The current KEK id and key."""
        kid = self._current("kek")
        kek = self.kek(kid)
        if kek is None:
            raise KeyMaterialError(f"current KEK {kid} missing from {self.dir / 'kek'}")
        return kid, kek

    def kek(self, kid: str) -> bytes | None:
        """A KEK by id, or None when this keyring does not hold it (or ``kid`` is not a KEK id:
        the id comes from a segment's genesis and names a file, so only ``kek:<16 hex>``)."""
        if not _KEK_ID.match(kid):
            return None
        path = self.dir / "kek" / f"{kid.split(':', 1)[1]}.key"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(data) != 32 or kek_id(data) != kid:
            raise KeyMaterialError(f"{path}: KEK file is corrupt")
        return data

    def trust(self) -> TrustStore:
        """The trust store of this home (own keys, current and rotated)."""
        return TrustStore.from_dir(self.dir / "trusted")

    def list_keys(self) -> dict[str, list[str]]:
        """Ids of signing keys, KEKs and trusted keys."""
        out: dict[str, list[str]] = {"signing": [], "kek": [], "trusted": []}
        for f in sorted((self.dir / "signing").glob("*.pem")):
            out["signing"].append("ed25519:" + f.stem)
        for f in sorted((self.dir / "kek").glob("*.key")):
            out["kek"].append("kek:" + f.stem)
        out["trusted"] = sorted(self.trust().keys)
        return out
