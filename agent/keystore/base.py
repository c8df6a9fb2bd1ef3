"""The key-store interface and what every backend shares: key ids and the signer shape."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.canonical import sha256_hex


def signing_key_id(public_raw: bytes) -> str:
    """The key id of a raw Ed25519 public key."""
    return "ed25519:" + sha256_hex(public_raw)[:16]


def kek_id(kek: bytes) -> str:
    """The id of a key-encryption key held as bytes (the id does not reveal the key)."""
    return "kek:" + sha256_hex(b"sessiontape-kek-id" + kek)[:16]


class Signer(Protocol):
    """An Ed25519 signing key with its id, wherever the private half lives."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_raw(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` (the caller passes canonical bytes it has hashed/committed to)."""
        ...


@dataclass
class KeySigner:
    """A :class:`Signer` whose private key is in this process's memory."""

    key_id: str
    private: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` (the caller passes canonical bytes it has hashed/committed to)."""
        return self.private.sign(data)

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )


class KeyStore(ABC):
    """The agent's secret keys: the current Ed25519 signing key and the KEKs.

    A backend never hands out a KEK: callers wrap a fresh data key under the current KEK and
    unwrap a segment's data key by the KEK id its genesis names, so a non-exportable KEK never
    leaves its token. Public keys go to the trust store (files) through :class:`agent.keys.Keyring`.
    """

    backend: str = ""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the backend and where the keys are (no secret)."""

    @abstractmethod
    def has_signing_key(self) -> bool:
        """True when a current signing key exists."""

    @abstractmethod
    def has_kek(self) -> bool:
        """True when a current KEK exists."""

    @abstractmethod
    def new_signing_key(self) -> Signer:
        """Create a signing key and make it current."""

    @abstractmethod
    def new_kek(self) -> str:
        """Create a KEK, make it current (old KEKs stay for reading); return its id."""

    @abstractmethod
    def current_kek_id(self) -> str:
        """The id of the KEK new data keys are wrapped under."""

    @abstractmethod
    def signer(self) -> Signer:
        """The current signing key."""

    @abstractmethod
    def wrap(self, dek: bytes) -> tuple[str, bytes]:
        """Wrap ``dek`` under the current KEK (RFC 3394): (KEK id, wrapped key)."""

    @abstractmethod
    def holds(self, kid: str) -> bool:
        """True when this store holds the KEK ``kid``."""

    @abstractmethod
    def unwrap(self, kid: str, wrapped: bytes, *, where: str) -> bytes:
        """The data key wrapped under KEK ``kid``; ``KeyMaterialError`` naming ``kid`` when the
        KEK is not held or the wrapped key does not unwrap with it."""

    @abstractmethod
    def ids(self) -> dict[str, list[str]]:
        """Ids of the signing keys and KEKs held (``signing``, ``kek``)."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing open
        """Release what the backend holds open (a token session)."""
