"""RFC 3161 timestamp tokens: decoding the DER and reading what a token says.

A stored token is a DER ``TimeStampResp`` (or a bare ``TimeStampToken``, accepted by wrapping
it as a granted response). ``rfc3161-client`` decodes lazily, so :func:`parse_response` touches
every field once: a malformed token fails there, as
:class:`~agent.errors.VerificationFailed` with check name ``"rfc3161"``, and never later.
:func:`timestamp_info` reads a token for display and checks nothing; requesting and verifying
tokens is :mod:`agent.seal.timestamp`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import cryptography.x509
from rfc3161_client import PKIStatus, TimeStampResponse, decode_timestamp_response

from agent.errors import VerificationFailed

CHECK = "rfc3161"
SHA256_OID = cryptography.x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
_T = TypeVar("_T")


@dataclass(frozen=True)
class TimestampInfo:
    """What a timestamp token says (parsed only; ``verify_timestamp`` checks it)."""

    gen_time: datetime
    """``genTime`` as an aware UTC datetime (sub-second part kept when the TSA sends one)."""
    gen_time_ns: int
    """``genTime`` as integer nanoseconds since the Unix epoch."""
    accuracy_us: int | None
    """Stated accuracy of ``genTime`` in microseconds (None when the TSA states none)."""
    serial: int
    """The token's serial number (unique per TSA)."""
    tsa_name: str | None
    """The TSA's name: the ``tsa`` field if present, else the signing certificate's subject."""
    tsa_cert_serial: int | None
    """Serial number of the TSA signing certificate (from the SignerInfo)."""
    tsa_cert_issuer: str | None
    """Issuer of the TSA signing certificate (RFC 4514 string)."""
    policy: str
    """TSA policy OID, dotted."""
    hash_algorithm: str
    """Message imprint hash algorithm OID, dotted (SHA-256 is 2.16.840.1.101.3.4.2.1)."""
    digest: bytes
    """The message imprint (the digest that was timestamped)."""
    nonce: int | None


def der(tag: int, content: bytes) -> bytes:
    """A DER TLV: ``tag``, definite length, ``content``."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def der_int(value: int) -> bytes:
    """A DER INTEGER (two's complement, minimal length)."""
    return der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def parse_response(data: bytes, what: str = "timestamp token") -> TimeStampResponse:
    """Decode a DER TimeStampResp, or a bare TimeStampToken (wrapped as a granted response).

    rfc3161-client decodes lazily: the token's fields are touched here so that every malformed
    input fails at this one place, as VerificationFailed, and never later as a ValueError.
    """
    raw = bytes(data)
    try:
        response = _decode_fully(raw)
    except Exception as first:  # the Rust parser raises ValueError and friends
        if raw[:1] == b"\x30":
            try:
                return _decode_fully(der(0x30, der(0x30, der_int(0)) + raw))
            except Exception:
                pass
        raise VerificationFailed(
            CHECK, f"{what} is not a DER RFC 3161 response: {first}"
        ) from first
    return response


def _decode_fully(raw: bytes) -> TimeStampResponse:
    response = decode_timestamp_response(raw)
    if response.status in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        info = response.tst_info
        _ = (info.message_imprint.message, info.message_imprint.hash_algorithm, info.gen_time)
        _ = (info.policy, info.serial_number, response.time_stamp_token())
        signed = response.signed_data
        _ = (signed.version, signed.certificates, [s.version for s in signed.signer_infos])
    return response


def check_granted(response: TimeStampResponse) -> None:
    """Raise ``VerificationFailed`` unless the TSA granted the request as asked (status 0)."""
    status = response.status
    if status == PKIStatus.GRANTED_WITH_MODS:
        # A TSA may not alter a timestamp request it grants in a way this code would notice;
        # accepting the status would leave one byte outside every signature meaningful.
        raise VerificationFailed(CHECK, "TSA granted with modifications (status 1): not accepted")
    if status != PKIStatus.GRANTED:
        text = "; ".join(response.status_string) or "no status text"
        raise VerificationFailed(CHECK, f"TSA refused: status {status} ({text})")


def timestamp_info(token: bytes) -> TimestampInfo:
    """Parse ``token`` (DER TimeStampResp or TimeStampToken) for display; checks nothing."""
    response = parse_response(token)
    return token_info(response, bytes(token))


def token_info(response: TimeStampResponse, raw: bytes) -> TimestampInfo:
    """The fields of a parsed token; ``raw`` is its DER, read for genTime's fraction."""
    info = response.tst_info
    gen_time = info.gen_time
    if gen_time.tzinfo is None:
        gen_time = gen_time.replace(tzinfo=UTC)
    gen_time = gen_time.astimezone(UTC)
    frac_ns = _fraction_ns(raw, gen_time)
    gen_time = gen_time.replace(microsecond=frac_ns // 1000)
    whole_s = int(gen_time.replace(microsecond=0).timestamp())
    signer_serial: int | None = None
    signer_issuer: str | None = None
    subject: str | None = None
    for signer in response.signed_data.signer_infos:
        signer_serial = signer.serial_number
        signer_issuer = signer.issuer.rfc4514_string()
        for cert_der in response.signed_data.certificates:
            cert = cryptography.x509.load_der_x509_certificate(cert_der)
            if cert.serial_number == signer_serial and cert.issuer == signer.issuer:
                subject = cert.subject.rfc4514_string()
        break
    return TimestampInfo(
        gen_time=gen_time,
        gen_time_ns=whole_s * 1_000_000_000 + frac_ns,
        accuracy_us=_accuracy_us(response),
        serial=info.serial_number,
        tsa_name=_tsa_name(response) or subject,
        tsa_cert_serial=signer_serial,
        tsa_cert_issuer=signer_issuer,
        policy=info.policy.dotted_string,
        hash_algorithm=info.message_imprint.hash_algorithm.dotted_string,
        digest=info.message_imprint.message,
        nonce=_optional(lambda: info.nonce),
    )


def _fraction_ns(raw: bytes, gen_time: datetime) -> int:
    """Sub-second part of genTime from the DER (rfc3161-client 1.0.9 truncates to seconds).

    GeneralizedTime is ``YYYYMMDDHHMMSS[.fff...]Z`` (RFC 3161 section 2.4.2); the TSTInfo holds
    exactly one whose whole-second prefix is ``gen_time``. Returns 0 when there is no fraction
    or the value cannot be found unambiguously.
    """
    stem = gen_time.strftime("%Y%m%d%H%M%S").encode()
    hits: list[int] = []
    start = raw.find(stem)
    while start >= 2:
        if raw[start - 2] == 0x18 and raw[start - 1] == len(raw[start : start + raw[start - 1]]):
            hits.append(start)
        start = raw.find(stem, start + 1)
    if len(hits) != 1:
        return 0
    value = raw[hits[0] : hits[0] + raw[hits[0] - 1]]
    if not (value.endswith(b"Z") and value[14:15] == b"."):
        return 0
    digits = value[15:-1]
    if not digits.isdigit() or len(digits) > 9:
        return 0
    return int(digits.decode().ljust(9, "0"))


def _accuracy_us(response: TimeStampResponse) -> int | None:
    accuracy = _optional(lambda: response.tst_info.accuracy)
    if accuracy is None:
        return None
    return (
        (accuracy.seconds or 0) * 1_000_000
        + (accuracy.millis or 0) * 1_000
        + (accuracy.micros or 0)
    )


def _tsa_name(response: TimeStampResponse) -> str | None:
    name = _optional(lambda: response.tst_info.name)
    if name is None:
        return None
    value = name.value
    if isinstance(value, cryptography.x509.Name):
        return value.rfc4514_string()
    return str(value)


def _optional(get: Callable[[], _T]) -> _T | None:
    try:
        return get()
    except Exception:  # absent optional fields raise in rfc3161-client 1.0.9
        return None
