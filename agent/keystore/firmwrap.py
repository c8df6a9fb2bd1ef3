"""Firm key wraps: every segment's data key (DEK) is also sealed to the firm's public key(s).

A workstation's KEK never leaves the workstation; so that the firm can read a record without
the machine that wrote it, the genesis of every segment carries ``firm_wraps``: one wrap of
the DEK per configured firm recipient (primary, disaster recovery, the new key during a
rotation). The genesis is hashed and signed, so the wraps are covered by the seal.

The construction (ECDH-ES, ECIES-style; one scheme for every firm key store)::

    alg    "x25519-hkdf-sha256-aes256gcm" (file and KMS stores) or
           "p256-hkdf-sha256-aes256gcm"   (PKCS#11 tokens: SoftHSM2 has no X25519)
    kid    "firm:" + first 16 hex of SHA-256(recipient SubjectPublicKeyInfo DER)
    e, epk a fresh ephemeral key pair per wrap, on the recipient's curve
    rpk    the recipient public key; points are raw 32 bytes (X25519) or the uncompressed
           65-byte SEC1 point (P-256), as is epk
    Z      ECDH(e, rpk): the 32-byte shared secret (P-256: the x coordinate)
    K      HKDF-SHA256(IKM = Z, salt = epk || rpk,
                       info = "sessiontape-firm-wrap/1" 0x00 alg 0x00 kid, L = 32)
    AAD    "sessiontape-firm-wrap/1" 0x00 segment_id 0x00 kid
    wrap   {"kid", "alg", "epk": hex(epk), "wrapped": hex(nonce(12) || AES-256-GCM_K(DEK, AAD))}

The salt and info bind the key to the algorithm, the firm key id and both public keys; the AAD
binds the wrap to its segment, so a wrap copied into another segment's genesis does not open.
Opening needs only the ECDH step from the firm's key store (:class:`FirmKeyStore`): a token or
KMS-sealed key does that step and the HKDF/AES-GCM part is this module's. (HPKE, RFC 9180, is
not used: its decryption in ``cryptography`` takes an in-memory private key object, which a
token or KMS cannot provide.)

Recipients are configured as PEM SubjectPublicKeyInfo files (``[seal.firm] recipients``); a
file that cannot be read or holds another kind of key is a ``ConfigError`` naming it.
"""

from __future__ import annotations

import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agent.canonical import sha256_hex
from agent.errors import ConfigError, KeyMaterialError
from agent.keystore.config import FirmConfig
from agent.keystore.perms import writable_by_others

log = structlog.get_logger("sessiontape.keys")

X25519_ALG = "x25519-hkdf-sha256-aes256gcm"
P256_ALG = "p256-hkdf-sha256-aes256gcm"
ALGS = (X25519_ALG, P256_ALG)
LABEL = b"sessiontape-firm-wrap/1"
FIRM_KID = re.compile(r"^firm:[0-9a-f]{16}\Z")

FirmPublicKey = X25519PublicKey | ec.EllipticCurvePublicKey


def firm_key_id(pub: FirmPublicKey) -> str:
    """``firm:<first 16 hex of SHA-256(SubjectPublicKeyInfo DER)>``."""
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "firm:" + sha256_hex(der)[:16]


def public_pem(pub: FirmPublicKey) -> bytes:
    """The PEM SubjectPublicKeyInfo that ``firm-init`` writes and workstations configure."""
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def alg_of(pub: FirmPublicKey) -> str:
    """The wrap algorithm for a recipient key (by its type)."""
    if isinstance(pub, X25519PublicKey):
        return X25519_ALG
    return P256_ALG


def point(pub: FirmPublicKey) -> bytes:
    """The public key as the construction hashes it (raw X25519 / uncompressed P-256)."""
    if isinstance(pub, X25519PublicKey):
        return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pub.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def parse_public_pem(data: bytes, what: str) -> FirmPublicKey:
    """An X25519 or P-256 public key from PEM; ``KeyMaterialError`` naming ``what``."""
    try:
        pub = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyMaterialError(f"{what}: not a PEM public key") from exc
    if isinstance(pub, X25519PublicKey):
        return pub
    if isinstance(pub, ec.EllipticCurvePublicKey) and isinstance(pub.curve, ec.SECP256R1):
        return pub
    raise KeyMaterialError(f"{what}: firm keys are X25519 or P-256, not {type(pub).__name__}")


@dataclass(frozen=True)
class Recipient:
    """A firm public key a workstation wraps every data key to."""

    kid: str
    public: FirmPublicKey
    source: str  # the file it was read from

    @classmethod
    def from_pem(cls, data: bytes, source: str) -> Recipient:
        pub = parse_public_pem(data, source)
        return cls(firm_key_id(pub), pub, source)


def load_recipients(paths: Sequence[str]) -> list[Recipient]:
    """The configured recipients; a file that is missing, unreadable, not a firm public key,
    or replaceable by another account is a ``ConfigError`` naming it (there is no fallback)."""
    out: list[Recipient] = []
    for p in paths:
        try:
            data = Path(p).read_bytes()
            # Whoever could swap the file would choose who can read future records.
            problem = writable_by_others(Path(p))
        except OSError as exc:
            raise ConfigError(
                f"seal.firm.recipients: {p}: cannot read ({exc.strerror or exc})"
            ) from exc
        if problem is not None:
            raise ConfigError(f"seal.firm.recipients: {p}: {problem}")
        try:
            r = Recipient.from_pem(data, p)
        except KeyMaterialError as exc:
            raise ConfigError(f"seal.firm.recipients: {exc.message}") from exc
        if all(r.kid != o.kid for o in out):
            out.append(r)
    return out


def configured_recipients(firm: FirmConfig, *, warn: bool = True) -> list[Recipient]:
    """The ``[seal.firm]`` recipients, loaded. With ``require`` an empty list is a
    ``ConfigError`` (recording is refused rather than writing segments only the workstation
    can read); without, it is one ``seal.no_firm_recipients`` warning (when ``warn``: the
    access-audit journal of a firm-side home has no recipients by design)."""
    if firm.require and not firm.recipients:
        raise ConfigError(
            "seal.firm.require is true but seal.firm.recipients is empty: refusing to record "
            "segments the firm could not read"
        )
    if not firm.recipients and warn:
        log.warning("seal.no_firm_recipients", detail="segments are readable only here")
    return load_recipients(firm.recipients)


def _kdf(shared: bytes, alg: str, kid: str, epk: bytes, rpk: bytes) -> bytes:
    info = LABEL + b"\x00" + alg.encode() + b"\x00" + kid.encode()
    return HKDF(hashes.SHA256(), 32, salt=epk + rpk, info=info).derive(shared)


def _aad(segment_id: str, kid: str) -> bytes:
    return LABEL + b"\x00" + segment_id.encode() + b"\x00" + kid.encode()


def wrap_to(recipient: Recipient, dek: bytes, segment_id: str) -> dict[str, str]:
    """One ``firm_wraps`` entry: ``dek`` sealed to ``recipient`` for segment ``segment_id``."""
    pub = recipient.public
    alg = alg_of(pub)
    if isinstance(pub, X25519PublicKey):
        eph_x = X25519PrivateKey.generate()
        shared = eph_x.exchange(pub)
        epk = point(eph_x.public_key())
    else:
        eph_p = ec.generate_private_key(ec.SECP256R1())
        shared = eph_p.exchange(ec.ECDH(), pub)
        epk = point(eph_p.public_key())
    key = _kdf(shared, alg, recipient.kid, epk, point(pub))
    nonce = secrets.token_bytes(12)
    ct = AESGCM(key).encrypt(nonce, dek, _aad(segment_id, recipient.kid))
    return {"kid": recipient.kid, "alg": alg, "epk": epk.hex(), "wrapped": (nonce + ct).hex()}


def wrap_all(recipients: Sequence[Recipient], dek: bytes, segment_id: str) -> list[dict[str, str]]:
    """The ``firm_wraps`` of a new segment (empty when no recipient is configured)."""
    return [wrap_to(r, dek, segment_id) for r in recipients]


def parse_wraps(value: Any) -> list[dict[str, str]]:
    """The genesis ``firm_wraps`` as a list of string dicts, or ``ValueError`` saying why."""
    if not isinstance(value, list):
        raise ValueError("firm_wraps is not a list")
    for i, w in enumerate(value):
        if not isinstance(w, dict) or set(w) != {"kid", "alg", "epk", "wrapped"}:
            raise ValueError(f"firm_wraps[{i}] is not a {{kid, alg, epk, wrapped}} object")
        if not all(isinstance(v, str) for v in w.values()):
            raise ValueError(f"firm_wraps[{i}] has a value that is not a string")
    return list(value)


def _check_epk(alg: str, epk: bytes) -> None:
    """Refuse an ephemeral key that is not a point of ``alg``'s curve."""
    if alg == X25519_ALG:
        X25519PublicKey.from_public_bytes(epk)
    else:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), epk)


class FirmKeyStore(ABC):
    """The firm's private keys, used only for the ECDH step of opening a wrap.

    Backends: ``file`` (0600 PEM files under ``<home>/keys/firm/``), ``pkcs11`` (P-256 keys
    non-extractable in a token) and ``kms`` (X25519 keys sealed under an AWS KMS key and
    opened by KMS Decrypt for each use). Workstations never need one: they only wrap to
    public keys.
    """

    backend: str = ""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the backend and where the keys are (no secret)."""

    @abstractmethod
    def new_key(self) -> FirmPublicKey:
        """Create a firm key pair in this store; return its public key."""

    @abstractmethod
    def public_key(self, kid: str) -> FirmPublicKey | None:
        """The public half of firm key ``kid`` when this store holds its private key."""

    @abstractmethod
    def ecdh(self, kid: str, epk: bytes, *, where: str) -> bytes:
        """The ECDH shared secret of firm key ``kid`` with the ephemeral point ``epk``."""

    @abstractmethod
    def ids(self) -> list[str]:
        """Ids of the firm private keys held."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing open
        """Release what the backend holds open (a token session)."""


def open_wrap(store: FirmKeyStore, wrap: dict[str, str], segment_id: str, *, where: str) -> bytes:
    """The data key in ``wrap`` (held by ``store``); ``KeyMaterialError`` naming the firm key
    when the wrap does not open (altered, or moved from another segment)."""
    kid, alg = wrap["kid"], wrap["alg"]
    bad = f"{where}: data key does not unwrap with firm key {kid}"
    pub = store.public_key(kid)
    if pub is None:
        raise KeyMaterialError(f"{where}: firm key {kid} is not held here")
    if alg not in ALGS or alg != alg_of(pub):
        raise KeyMaterialError(f"{bad} (algorithm {alg!r} does not match the key)")
    try:
        epk = bytes.fromhex(wrap["epk"])
        blob = bytes.fromhex(wrap["wrapped"])
        _check_epk(alg, epk)
    except ValueError:
        raise KeyMaterialError(bad) from None
    if len(blob) < 12 + 16:
        raise KeyMaterialError(bad)
    shared = store.ecdh(kid, epk, where=where)
    key = _kdf(shared, alg, kid, epk, point(pub))
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], _aad(segment_id, kid))
    except InvalidTag:
        raise KeyMaterialError(bad) from None
