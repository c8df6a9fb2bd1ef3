"""The CMS signature of a timestamp token, checked against the certificate the token embeds.

This is what ``verify`` checks on every token, with or without trusted TSA roots: the token's
one SignerInfo signs its signed attributes with the key of an embedded certificate, and those
attributes commit to the TSTInfo (``message-digest``), to its type (``content-type``) and to
that very certificate (ESS ``signing-certificate`` or ``-v2``, RFC 5035). So no byte of the
TSTInfo (genTime, imprint, serial, policy, TSA name) nor of the certificate can change without
the check failing. Whether that certificate belongs to a TSA one trusts is the chain check of
:func:`agent.seal.timestamp.verify_timestamp`, which needs roots.

``rfc3161-client`` 1.0.9 verifies a signature only together with a chain to a root, and does
not expose the signed attributes' DER, so the SignerInfo is read here with a small DER walker
and the signature is checked with ``cryptography``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import cryptography.x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from agent.errors import VerificationFailed
from agent.seal.timestamp_token import CHECK

ALTERED_ATTRIBUTES = (
    "signature check failed: signed attributes do not match the TSTInfo (altered token)"
)
INVALID_SIGNATURE = "signature check failed: invalid CMS signature (altered token or wrong key)"

# DER contents of the OIDs read below (RFC 5652, RFC 3161, RFC 5035, RFC 5754).
_OID_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2
_OID_TST_INFO = bytes.fromhex("2a864886f70d0109100104")  # 1.2.840.113549.1.9.16.1.4
_OID_CONTENT_TYPE = bytes.fromhex("2a864886f70d010903")  # 1.2.840.113549.1.9.3
_OID_MESSAGE_DIGEST = bytes.fromhex("2a864886f70d010904")  # 1.2.840.113549.1.9.4
_OID_SIGNING_CERT = bytes.fromhex("2a864886f70d010910020c")  # 1.2.840.113549.1.9.16.2.12
_OID_SIGNING_CERT_V2 = bytes.fromhex("2a864886f70d010910022f")  # 1.2.840.113549.1.9.16.2.47
# signatureAlgorithm values accepted per key type (RFC 5754, RFC 8419), with the digest each
# implies (None: the SignerInfo's digestAlgorithm decides); RSASSA-PSS is not supported.
_EC_SIGNATURES = {
    bytes.fromhex("2a8648ce3d0403") + bytes([n]): name
    for n, name in ((2, "sha256"), (3, "sha384"), (4, "sha512"))
}
_RSA_SIGNATURES: dict[bytes, str | None] = {
    bytes.fromhex("2a864886f70d0101") + bytes([n]): name
    for n, name in ((1, None), (11, "sha256"), (12, "sha384"), (13, "sha512"))
}
_ED25519_SIGNATURE = bytes.fromhex("2b6570")  # 1.3.101.112
_HASHES: dict[bytes, tuple[str, type[hashes.HashAlgorithm]]] = {
    bytes.fromhex("2b0e03021a"): ("sha1", hashes.SHA1),
    bytes.fromhex("608648016503040201"): ("sha256", hashes.SHA256),
    bytes.fromhex("608648016503040202"): ("sha384", hashes.SHA384),
    bytes.fromhex("608648016503040203"): ("sha512", hashes.SHA512),
}
_SHA256 = bytes.fromhex("608648016503040201")


@dataclass(frozen=True)
class _Tlv:
    """One DER element of ``buf``: its tag, and where its content and the element lie."""

    buf: bytes
    tag: int
    start: int  # first byte of the element (its tag)
    body: int  # first byte of its content
    end: int  # one past its last byte

    @property
    def content(self) -> bytes:
        return self.buf[self.body : self.end]

    @property
    def der(self) -> bytes:
        return self.buf[self.start : self.end]

    def children(self) -> list[_Tlv]:
        out: list[_Tlv] = []
        pos = self.body
        while pos < self.end:
            child = _read(self.buf, pos, self.end)
            out.append(child)
            pos = child.end
        return out


def _read(buf: bytes, pos: int, limit: int) -> _Tlv:
    """The DER element at ``pos`` (single-byte tags, definite lengths, inside ``limit``)."""
    if pos + 2 > limit or buf[pos] & 0x1F == 0x1F:
        raise ValueError(f"bad DER element at offset {pos}")
    first = buf[pos + 1]
    body = pos + 2
    length = first
    if first & 0x80:
        count = first & 0x7F
        if not 1 <= count <= 4 or body + count > limit:
            raise ValueError(f"bad DER length at offset {pos}")
        length = int.from_bytes(buf[body : body + count], "big")
        body += count
    if body + length > limit:
        raise ValueError(f"DER element at offset {pos} runs past its container")
    return _Tlv(buf, buf[pos], pos, body, body + length)


@dataclass(frozen=True)
class _SignerParts:
    """What the signature check needs from a token's SignedData and its one SignerInfo."""

    e_content_type: bytes
    e_content: bytes
    digest_oid: bytes
    signed_attrs: _Tlv
    signature_oid: bytes
    signature: bytes


def _signer_parts(token_der: bytes) -> _SignerParts:
    """Walk ContentInfo -> SignedData -> SignerInfo (RFC 5652 sections 3, 5.1, 5.3)."""
    content_info = _read(token_der, 0, len(token_der))
    oid, explicit = content_info.children()[:2]
    if oid.content != _OID_SIGNED_DATA:
        raise ValueError("the token is not CMS SignedData")
    fields = explicit.children()[0].children()
    encap = fields[2].children()
    e_content = encap[1].children()[0].content  # [0] EXPLICIT OCTET STRING
    signer = fields[-1].children()[0].children()  # signerInfos SET, its one SignerInfo
    attrs = signer[3]
    if attrs.tag != 0xA0:
        raise ValueError("the SignerInfo has no signed attributes")
    digest_oid = signer[2].children()[0].content
    if digest_oid not in [alg.children()[0].content for alg in fields[1].children()]:
        raise ValueError("the signer's digest algorithm is not listed in SignedData")
    return _SignerParts(
        e_content_type=encap[0].content,
        e_content=e_content,
        digest_oid=digest_oid,
        signed_attrs=attrs,
        signature_oid=signer[4].children()[0].content,
        signature=signer[5].content,
    )


def _attributes(signed_attrs: _Tlv) -> dict[bytes, list[_Tlv]]:
    """Signed attributes by type OID: each an ``Attribute ::= SEQUENCE {type, SET OF value}``."""
    out: dict[bytes, list[_Tlv]] = {}
    for attr in signed_attrs.children():
        kind, values = attr.children()[:2]
        if kind.content in out:
            raise ValueError("a signed attribute occurs twice")
        out[kind.content] = values.children()
    return out


def _hash(oid: bytes) -> tuple[str, type[hashes.HashAlgorithm]]:
    if oid not in _HASHES:
        raise VerificationFailed(
            CHECK, f"signature check failed: unsupported digest algorithm {oid.hex()}"
        )
    return _HASHES[oid]


def _check_attributes(parts: _SignerParts, cert_der: bytes) -> None:
    """content-type, message-digest and the ESS signing certificate name what they must."""
    attrs = _attributes(parts.signed_attrs)
    name, _ = _hash(parts.digest_oid)
    digest = hashlib.new(name, parts.e_content).digest()
    (ctype,) = attrs.get(_OID_CONTENT_TYPE, [None])
    (mdigest,) = attrs.get(_OID_MESSAGE_DIGEST, [None])
    if (
        parts.e_content_type != _OID_TST_INFO
        or ctype is None
        or ctype.content != _OID_TST_INFO
        or mdigest is None
        or mdigest.content != digest
    ):
        raise VerificationFailed(CHECK, ALTERED_ATTRIBUTES)
    if not _names_certificate(attrs, cert_der):
        raise VerificationFailed(
            CHECK,
            "signature check failed: the signed signing-certificate attribute does not name "
            "the embedded TSA certificate",
        )


def _names_certificate(attrs: dict[bytes, list[_Tlv]], cert_der: bytes) -> bool:
    """The first ESSCertID(v2) of the signing-certificate attribute hashes to ``cert_der``."""
    if _OID_SIGNING_CERT_V2 in attrs:
        (value,) = attrs[_OID_SIGNING_CERT_V2]
        first = value.children()[0].children()[0].children()  # certs SEQ OF ESSCertIDv2
        hash_oid = _SHA256  # hashAlgorithm DEFAULT sha256
        if first[0].tag == 0x30:
            hash_oid = first[0].children()[0].content
            first = first[1:]
        name, _ = _hash(hash_oid)
    elif _OID_SIGNING_CERT in attrs:
        (value,) = attrs[_OID_SIGNING_CERT]
        first = value.children()[0].children()[0].children()  # ESSCertID: SHA-1 certHash
        name = "sha1"
    else:
        return False
    return first[0].content == hashlib.new(name, cert_der).digest()


def _check_signature(parts: _SignerParts, cert: cryptography.x509.Certificate) -> None:
    """The SignerInfo signature over the DER of the signed attributes, as RFC 5652 section 5.4
    defines it: the attributes are hashed with their EXPLICIT ``SET OF`` tag (0x31), not the
    ``[0] IMPLICIT`` tag (0xA0) they carry inside the SignerInfo."""
    data = b"\x31" + parts.signed_attrs.der[1:]
    name, algorithm = _hash(parts.digest_oid)
    key = cert.public_key()
    oid = parts.signature_oid
    implied = {**_EC_SIGNATURES, **_RSA_SIGNATURES}.get(oid) or name
    supported = implied == name and (
        (isinstance(key, ec.EllipticCurvePublicKey) and oid in _EC_SIGNATURES)
        or (isinstance(key, rsa.RSAPublicKey) and oid in _RSA_SIGNATURES)
        or (isinstance(key, ed25519.Ed25519PublicKey) and oid == _ED25519_SIGNATURE)
    )
    if not supported:
        raise VerificationFailed(
            CHECK,
            f"signature check failed: unsupported signature algorithm {oid.hex()} with digest "
            f"{name} for a {type(key).__name__.removeprefix('_')} TSA key",
        )
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(parts.signature, data, ec.ECDSA(algorithm()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(parts.signature, data, padding.PKCS1v15(), algorithm())
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(parts.signature, data)
    except InvalidSignature as exc:
        raise VerificationFailed(CHECK, INVALID_SIGNATURE) from exc


def _check_certificate(cert: cryptography.x509.Certificate, gen_time: datetime) -> None:
    """A TSA certificate (critical ``timeStamping`` EKU, RFC 3161 section 2.3), valid at
    ``genTime``."""
    try:
        eku = cert.extensions.get_extension_for_class(cryptography.x509.ExtendedKeyUsage)
    except cryptography.x509.ExtensionNotFound:
        eku = None
    if eku is None or not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise VerificationFailed(
            CHECK, "the embedded TSA certificate lacks the critical timeStamping key usage"
        )
    if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
        raise VerificationFailed(
            CHECK, "the embedded TSA certificate was not valid at the token's genTime"
        )


def check_token_signature(
    token_der: bytes, signer_cert: cryptography.x509.Certificate, gen_time: datetime
) -> None:
    """Check the CMS signature of ``token_der`` (a DER TimeStampToken) with ``signer_cert``.

    ``signer_cert`` is the embedded certificate that the SignerInfo names (issuer and serial).

    Raises:
        VerificationFailed: ("rfc3161") when the structure, an attribute, the certificate or
            the signature is wrong; the reason says which.
    """
    cert_der = signer_cert.public_bytes(Encoding.DER)
    try:
        parts = _signer_parts(bytes(token_der))
        _check_attributes(parts, cert_der)
    except (ValueError, IndexError) as exc:
        raise VerificationFailed(
            CHECK, f"signature check failed: malformed SignerInfo ({exc or 'truncated'})"
        ) from exc
    _check_certificate(signer_cert, gen_time)
    _check_signature(parts, signer_cert)
