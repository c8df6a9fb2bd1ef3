"""RFC 3161 trusted timestamps for seals: request one from a TSA, verify it, show it.

What a token proves: the TSA saw ``digest`` (a SHA-256 message imprint) no later than
``genTime`` (RFC 3161 section 2.4.2). The seal code timestamps ``sha256(seal_body)``; the bytes
stored are the DER ``TimeStampResp`` so that any third party can check them with stock tools::

    openssl ts -verify -digest <hex digest> -in seal.tsr -CAfile tsa-root.pem

Library errors are translated here, once: transport problems become a retryable
:class:`~agent.errors.SessiontapeError`; anything wrong with what the TSA sent, or with a stored
token, becomes :class:`~agent.errors.VerificationFailed` with check name ``"rfc3161"``.

``rfc3161-client`` (Trail of Bits) parses and verifies; it does no network I/O. Its request
builder always hashes the data it is given, so the request for an *already computed* digest is
DER-encoded here (:func:`_encode_request`, 4 fields); it is checked end to end by the tests
(OpenSSL's TSA parses it and the token's imprint equals the digest).
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import cryptography.x509
from rfc3161_client import (
    PKIStatus,
    TimeStampResponse,
    VerifierBuilder,
    decode_timestamp_response,
)

from agent.errors import ConfigError, SessiontapeError, VerificationFailed

CHECK = "rfc3161"
SHA256_OID = cryptography.x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
QUERY_CONTENT_TYPE = "application/timestamp-query"
# RFC 3161 section 3.4 names "application/timestamp-reply"; some old TSAs answer with the
# draft name "application/timestamp-response".
REPLY_CONTENT_TYPES = frozenset({"application/timestamp-reply", "application/timestamp-response"})
MAX_REPLY_BYTES = 1 << 20
_T = TypeVar("_T")
_SHA256_ALG_DER = bytes.fromhex("300d06096086480165030402010500")  # {sha256, NULL}


@dataclass(frozen=True)
class TimestampInfo:
    """What a timestamp token says (parse only; :func:`verify_timestamp` checks it)."""

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


# -- request ---------------------------------------------------------------------------------


def request_timestamp(
    digest: bytes, url: str, *, timeout: float = 10.0, nonce: bool = True
) -> bytes:
    """Ask the TSA at ``url`` to timestamp the SHA-256 ``digest``; return the DER response.

    The response is checked before it is returned: HTTP 200, a timestamp-reply content type,
    status granted, nonce and imprint equal to what was asked, and a TSA certificate included
    (``certReq`` is set). Its signature chain is *not* checked against trust roots here; that
    is :func:`verify_timestamp`'s job at verify time.

    Raises:
        ConfigError: ``url`` is not an http(s) URL or ``digest`` is not 32 bytes.
        SessiontapeError: the TSA could not be reached, timed out or answered HTTP 5xx/429
            (``retryable=True``) or another HTTP error (``retryable=False``).
        VerificationFailed: ("rfc3161") the reply is not an acceptable timestamp for the query.
    """
    _check_digest(digest)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"seal.tsa_url must be an http(s) URL, got {url!r}")
    nonce_value = secrets.randbits(64) if nonce else None
    body = _encode_request(digest, nonce_value)
    reply = _post(url, body, timeout)
    _check_reply(reply, digest, nonce_value, url)
    return reply


def _check_digest(digest: bytes) -> None:
    if not isinstance(digest, bytes | bytearray) or len(digest) != 32:
        raise ConfigError("the digest to timestamp must be 32 bytes of SHA-256")


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _encode_request(digest: bytes, nonce: int | None) -> bytes:
    """DER ``TimeStampReq`` (RFC 3161 section 2.4.1): v1, SHA-256 imprint, nonce, certReq."""
    imprint = _der(0x30, _SHA256_ALG_DER + _der(0x04, digest))
    fields = _der_int(1) + imprint
    if nonce is not None:
        fields += _der_int(nonce)
    fields += b"\x01\x01\xff"  # certReq BOOLEAN TRUE
    return _der(0x30, fields)


def _post(url: str, body: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": QUERY_CONTENT_TYPE}
    )
    where = _display_url(url)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            content_type = response.headers.get_content_type()
            reply: bytes = response.read(MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        retryable = exc.code >= 500 or exc.code == 429
        raise SessiontapeError(
            f"TSA {where} answered HTTP {exc.code} {exc.reason}", retryable=retryable
        ) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SessiontapeError(f"TSA {where} unreachable: {reason}", retryable=True) from exc
    except OSError as exc:  # reset mid-read, TLS errors surfacing as OSError, ...
        raise SessiontapeError(f"TSA {where} transport error: {exc}", retryable=True) from exc
    if status != 200:
        raise SessiontapeError(f"TSA {where} answered HTTP {status}", retryable=status >= 500)
    if content_type not in REPLY_CONTENT_TYPES:
        raise VerificationFailed(
            CHECK, f"TSA {where} answered content type {content_type!r}, not a timestamp reply"
        )
    if len(reply) > MAX_REPLY_BYTES:
        raise VerificationFailed(CHECK, f"TSA {where} reply larger than {MAX_REPLY_BYTES} bytes")
    return reply


def _display_url(url: str) -> str:
    """The URL without user info or query (TSA URLs may carry credentials)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _check_reply(reply: bytes, digest: bytes, nonce: int | None, url: str) -> None:
    where = _display_url(url)
    response = _parse(reply, f"reply from TSA {where}")
    _check_granted(response)
    info = response.tst_info
    if nonce is not None and info.nonce != nonce:
        raise VerificationFailed(CHECK, f"TSA {where} reply nonce does not match the request")
    if info.message_imprint.hash_algorithm != SHA256_OID:
        raise VerificationFailed(CHECK, f"TSA {where} reply imprint is not SHA-256")
    if info.message_imprint.message != digest:
        raise VerificationFailed(CHECK, f"TSA {where} reply imprint does not match the digest")
    if not response.signed_data.certificates:
        raise VerificationFailed(
            CHECK, f"TSA {where} reply carries no certificate although certReq was set"
        )


# -- parse / verify --------------------------------------------------------------------------


def _parse(data: bytes, what: str = "timestamp token") -> TimeStampResponse:
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
                return _decode_fully(_der(0x30, _der(0x30, _der_int(0)) + raw))
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


def _check_granted(response: TimeStampResponse) -> None:
    status = response.status
    if status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        text = "; ".join(response.status_string) or "no status text"
        raise VerificationFailed(CHECK, f"TSA refused: status {status} ({text})")


def timestamp_info(token: bytes) -> TimestampInfo:
    """Parse ``token`` (DER TimeStampResp or TimeStampToken) for display; checks nothing."""
    response = _parse(token)
    return _info(response, bytes(token))


def verify_timestamp(token: bytes, digest: bytes, roots: list[bytes]) -> TimestampInfo:
    """Check that ``token`` is a valid RFC 3161 timestamp of ``digest`` by a TSA under ``roots``.

    ``roots`` are PEM certificates (one or more per item). Checked: the token parses and is
    granted; the CMS signature over the TSTInfo is valid; the signer certificate chains to one
    of ``roots`` (at ``genTime``) and has the critical ``timeStamping`` extended key usage; the
    imprint is SHA-256 and equals ``digest``.

    Raises:
        VerificationFailed: ("rfc3161", reason) on the first check that fails.
    """
    if len(digest) != 32:
        raise VerificationFailed(CHECK, "expected a 32-byte SHA-256 digest to check against")
    trusted = _load_roots(roots)
    response = _parse(token)
    _check_granted(response)
    info = response.tst_info
    if info.message_imprint.hash_algorithm != SHA256_OID:
        raise VerificationFailed(
            CHECK,
            f"imprint algorithm {info.message_imprint.hash_algorithm.dotted_string} "
            + "is not SHA-256",
        )
    _check_structure(response)
    builder = VerifierBuilder()
    for root in trusted:
        builder = builder.add_root_certificate(root)
    verifier = builder.build()
    try:
        # Signature, chain and EKU against the token's own imprint; the imprint is compared
        # with the expected digest below so that each failure has its own reason.
        verifier.verify(response, info.message_imprint.message)
    except Exception as exc:  # VerificationError, or ValueError from the Rust CMS layer
        raise VerificationFailed(CHECK, _explain(exc)) from exc
    if info.message_imprint.message != bytes(digest):
        raise VerificationFailed(
            CHECK,
            f"token timestamps digest {info.message_imprint.message.hex()[:16]}..., "
            f"not {bytes(digest).hex()[:16]}...",
        )
    return _info(response, bytes(token))


def _check_structure(response: TimeStampResponse) -> None:
    """Versions fixed by RFC 3161/5652 (outside the signature, so checked here)."""
    signed = response.signed_data
    if signed.version != 3:
        raise VerificationFailed(CHECK, f"SignedData version {signed.version}, expected 3")
    signers = signed.signer_infos
    if len(signers) != 1:
        raise VerificationFailed(CHECK, f"token has {len(signers)} signers, expected exactly 1")
    version = next(iter(signers)).version
    if version != 1:
        raise VerificationFailed(CHECK, f"SignerInfo version {version}, expected 1")


def _explain(exc: BaseException) -> str:
    """A one-line reason from rfc3161-client / OpenSSL error text."""
    text = str(exc)
    if "certificate verify error" in text:
        detail = re.search(r'Verify error: ?([^"]+)', text)
        why = f" ({detail.group(1)})" if detail else ""
        return f"TSA certificate does not chain to a trusted root{why}"
    if "digest failure" in text:
        return "signature check failed: signed attributes do not match the TSTInfo (altered token)"
    if "signature failure" in text:
        return "signature check failed: invalid CMS signature (altered token or wrong key)"
    return f"signature check failed: {text.splitlines()[0][:300] if text else type(exc).__name__}"


def _load_roots(roots: list[bytes]) -> list[cryptography.x509.Certificate]:
    trusted: list[cryptography.x509.Certificate] = []
    for pem in roots:
        try:
            certs = cryptography.x509.load_pem_x509_certificates(bytes(pem))
        except ValueError as exc:
            raise VerificationFailed(CHECK, f"a TSA root is not a PEM certificate: {exc}") from exc
        trusted.extend(c for c in certs if c not in trusted)
    if not trusted:
        raise VerificationFailed(CHECK, "no TSA trust roots configured (seal.tsa_roots)")
    return trusted


def _info(response: TimeStampResponse, raw: bytes) -> TimestampInfo:
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
        for der in response.signed_data.certificates:
            cert = cryptography.x509.load_der_x509_certificate(der)
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
