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

Firm keys: every segment's data key is also wrapped to the firm's public keys (the genesis's
``firm_wraps``, :mod:`agent.keystore.firmwrap`); the firm's private keys live in a firm key
store (``[seal.firm_keys]``: ``file``, ``pkcs11`` or ``kms``). :meth:`Keyring.open_dek` is the
one place that decides which key opens a segment: this home's KEK, else a firm key held here,
else :class:`~agent.errors.KeyUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.errors import KeyMaterialError, KeyUnavailable
from agent.keystore.base import KeySigner, KeyStore, Signer, kek_id, signing_key_id
from agent.keystore.config import FirmKeysConfig, KeysConfig
from agent.keystore.firmwrap import FirmKeyStore, Recipient, open_wrap, parse_wraps, wrap_all
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
    "open_firm_store",
    "signing_key_id",
]

_configured = KeysConfig()
_configured_firm = FirmKeysConfig()


def configure(settings: KeysConfig, firm: FirmKeysConfig | None = None) -> None:
    """The key settings :meth:`Keyring.load` uses when given none (set from the config)."""
    global _configured, _configured_firm
    _configured = settings
    _configured_firm = firm or FirmKeysConfig()


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


def open_firm_store(keys_dir: Path, settings: FirmKeysConfig) -> FirmKeyStore:
    """The firm key store ``settings`` name (a token or KMS is used on first use, not here)."""
    if settings.backend == "pkcs11":
        from agent.keystore.firm_pkcs11 import Pkcs11FirmKeyStore

        return Pkcs11FirmKeyStore(settings)
    from agent.keystore.firm_files import FileFirmKeyStore, KmsFirmKeyStore

    if settings.backend == "kms":
        return KmsFirmKeyStore(keys_dir, settings.kms_key_id)
    return FileFirmKeyStore(keys_dir)


class Keyring:
    """The agent's keys: a key store (signing key, KEKs), the firm key store (firm private
    keys, on the firm side) and the trust store."""

    def __init__(
        self,
        home: Path,
        settings: KeysConfig | None = None,
        firm_settings: FirmKeysConfig | None = None,
    ) -> None:
        self.home = home
        self.dir = home / "keys"
        self.settings = settings or _configured
        self.firm_settings = firm_settings or _configured_firm
        self._store: KeyStore | None = None
        self._firm: FirmKeyStore | None = None

    @property
    def store(self) -> KeyStore:
        """The backend, opened on first use (so ``verify`` without decryption never needs it)."""
        if self._store is None:
            self._store = open_store(self.dir, self.settings)
        return self._store

    @property
    def firm_store(self) -> FirmKeyStore:
        """The firm key store, opened on first use (only reading may need it)."""
        if self._firm is None:
            self._firm = open_firm_store(self.dir, self.firm_settings)
        return self._firm

    @property
    def backend(self) -> str:
        return self.settings.backend

    # --- creation / rotation -------------------------------------------------------------
    @classmethod
    def load(
        cls,
        home: Path,
        settings: KeysConfig | None = None,
        firm_settings: FirmKeysConfig | None = None,
    ) -> Keyring:
        """Open the keyring without creating anything."""
        return cls(home, settings, firm_settings)

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

    def genesis_key_fields(
        self, dek: bytes, segment_id: str, recipients: Sequence[Recipient]
    ) -> dict[str, Any]:
        """The genesis fields that keep a new segment's data key: ``kek_id`` + ``wrapped_dek``
        (under the current KEK) and ``firm_wraps`` (sealed to each firm recipient)."""
        kid, wrapped = self.wrap_dek(dek)
        return {
            "kek_id": kid,
            "wrapped_dek": wrapped.hex(),
            "firm_wraps": wrap_all(recipients, dek, segment_id),
        }

    def unwrap_dek(self, kid: str, wrapped: bytes, *, where: str) -> bytes:
        """The data key wrapped under KEK ``kid``, or ``KeyMaterialError`` naming ``kid``."""
        return self.store.unwrap(kid, wrapped, where=where)

    def can_open(self, genesis: Mapping[str, Any]) -> bool:
        """True when :meth:`open_dek` would find a key here (this home's KEK or a firm key
        the segment was wrapped to); whether the wrap then opens is not checked."""
        if self.holds_kek(str(genesis.get("kek_id", ""))):
            return True
        try:
            wraps = parse_wraps(genesis.get("firm_wraps", []))
        except ValueError:
            return False
        return any(self.firm_store.public_key(w["kid"]) is not None for w in wraps)

    def open_dek(self, genesis: Mapping[str, Any], *, where: str) -> bytes:
        """The data key of the segment whose genesis is ``genesis``: unwrapped with this home's
        KEK when it holds the one the genesis names, else opened with the first firm wrap whose
        firm key this home's firm store holds.

        ``KeyUnavailable`` (``WHERE: cannot decrypt (key kek:… unavailable; firm keys firm:…
        not held here)``) when neither is held; ``KeyMaterialError`` (``data key does not unwrap
        with …``) when the held key does not open the wrap (altered or moved).
        """
        kid = str(genesis.get("kek_id", ""))
        if kid and self.holds_kek(kid):
            try:
                wrapped = bytes.fromhex(str(genesis.get("wrapped_dek", "")))
            except ValueError:
                raise KeyMaterialError(f"{where}: genesis wrapped_dek is not hex") from None
            return self.unwrap_dek(kid, wrapped, where=where)
        try:
            wraps = parse_wraps(genesis.get("firm_wraps", []))
        except ValueError as exc:
            raise KeyMaterialError(f"{where}: genesis {exc}") from None
        segment_id = str(genesis.get("segment_id", ""))
        for w in wraps:
            if self.firm_store.public_key(w["kid"]) is not None:
                return open_wrap(self.firm_store, w, segment_id, where=where)
        firm = ", ".join(w["kid"] for w in wraps)
        held = f"firm keys {firm} not held here" if firm else "no firm key wraps in this segment"
        raise KeyUnavailable(f"{where}: cannot decrypt (key {kid or '(none)'} unavailable; {held})")

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
        """Ids of signing keys, KEKs, firm private keys held and trusted keys."""
        ids = self.store.ids()
        return {
            "signing": ids["signing"],
            "kek": ids["kek"],
            "firm_held": self.firm_store.ids(),
            "trusted": sorted(self.trust().keys),
        }
