"""The agent's keys as the rest of the code sees them: a :class:`Keyring` over a key store.

The signing key and the KEKs live in a :class:`agent.keystore.KeyStore` backend: ``file``
(0600 files under ``<home>/keys/``) or ``pkcs11`` (a token holds them non-exportable). The
trust store, the public keys ``verify`` accepts, is always files under ``<home>/keys/trusted/``
(raw 32-byte Ed25519 public keys as hex), so verification never needs the token.

Key ids are ``ed25519:<first 16 hex of SHA-256(raw public key)>`` and ``kek:<16 hex>`` (a
file KEK: ``SHA-256(b"sessiontape-kek-id" || kek)``; a token KEK: random). Rotation makes a new
key current; old keys stay so old journals remain verifiable and readable.

Which backend: the settings passed to :meth:`Keyring.load`, else the ones this process was
configured with (:func:`configure`, called by the CLI from ``[seal.keys]``), else ``file``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.errors import KeyMaterialError
from agent.keystore.base import KeySigner, KeyStore, Signer, kek_id, signing_key_id
from agent.keystore.config import KeysConfig
from agent.keystore.perms import private_dir

__all__ = [
    "KeySigner",
    "KeyStore",
    "Keyring",
    "KeysConfig",
    "Signer",
    "TrustStore",
    "configure",
    "kek_id",
    "signing_key_id",
]

_configured = KeysConfig()


def configure(settings: KeysConfig) -> None:
    """The key settings :meth:`Keyring.load` uses when given none (set from the config)."""
    global _configured
    _configured = settings


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


def open_store(keys_dir: Path, settings: KeysConfig) -> KeyStore:
    """The backend ``settings`` name (the token opens on first use, not here)."""
    if settings.backend == "pkcs11":
        from agent.keystore.pkcs11 import Pkcs11KeyStore

        return Pkcs11KeyStore(settings)
    from agent.keystore.files import FileKeyStore

    return FileKeyStore(keys_dir)


class Keyring:
    """The agent's keys: a key store (signing key, KEKs) plus the trust store."""

    def __init__(self, home: Path, settings: KeysConfig | None = None) -> None:
        self.home = home
        self.dir = home / "keys"
        self.settings = settings or _configured
        self._store: KeyStore | None = None

    @property
    def store(self) -> KeyStore:
        """The backend, opened on first use (so ``verify`` without decryption never needs it)."""
        if self._store is None:
            self._store = open_store(self.dir, self.settings)
        return self._store

    @property
    def backend(self) -> str:
        return self.settings.backend

    # --- creation / rotation -------------------------------------------------------------
    @classmethod
    def load(cls, home: Path, settings: KeysConfig | None = None) -> Keyring:
        """Open the keyring without creating anything."""
        return cls(home, settings)

    @classmethod
    def load_or_init(cls, home: Path, settings: KeysConfig | None = None) -> Keyring:
        """Open the keyring, creating the signing key and KEK on first use."""
        kr = cls(home, settings)
        kr.init()
        return kr

    def init(self) -> bool:
        """Create a signing key and a KEK if there are none; True when something was created."""
        private_dir(self.dir)
        created = False
        if not self.store.has_signing_key():
            self.rotate_signing()
            created = True
        else:
            self._trust_raw(self.store.signer().public_raw)
        if not self.store.has_kek():
            self.store.new_kek()
            created = True
        return created

    def rotate_signing(self) -> str:
        """Create a new Ed25519 signing key, trust it, make it current; return its id."""
        private_dir(self.dir)
        signer = self.store.new_signing_key()
        self._trust_raw(signer.public_raw)
        return signer.key_id

    def rotate_kek(self) -> str:
        """Create a new KEK and make it current; old KEKs stay for reading."""
        private_dir(self.dir)
        return self.store.new_kek()

    def _trust_raw(self, raw: bytes) -> None:
        d = private_dir(self.dir / "trusted")
        path = d / f"{signing_key_id(raw).split(':')[1]}.pub"
        if not path.exists():
            path.write_bytes(raw.hex().encode())

    # --- use ------------------------------------------------------------------------------
    def signer(self) -> Signer:
        """The current signing key."""
        return self.store.signer()

    def wrap_dek(self, dek: bytes) -> tuple[str, bytes]:
        """Wrap a fresh data key under the current KEK: (KEK id, wrapped key)."""
        return self.store.wrap(dek)

    def unwrap_dek(self, kid: str, wrapped: bytes, *, where: str) -> bytes:
        """The data key wrapped under KEK ``kid``, or ``KeyMaterialError`` naming ``kid``."""
        return self.store.unwrap(kid, wrapped, where=where)

    def current_kek_id(self) -> str:
        """The id of the KEK new data keys are wrapped under."""
        return self.store.current_kek_id()

    def holds_kek(self, kid: str) -> bool:
        """True when this keyring can unwrap data keys wrapped under KEK ``kid``."""
        return self.store.holds(kid)

    def trust(self) -> TrustStore:
        """The trust store of this home (own keys, current and rotated)."""
        return TrustStore.from_dir(self.dir / "trusted")

    def list_keys(self) -> dict[str, list[str]]:
        """Ids of signing keys, KEKs and trusted keys."""
        ids = self.store.ids()
        return {
            "signing": ids["signing"],
            "kek": ids["kek"],
            "trusted": sorted(self.trust().keys),
        }
