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
(OpenSSL's TSA parses it and the token's imprint equals the digest). Decoding a token and
reading its fields is :mod:`agent.seal.timestamp_token`.
"""

from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC

import cryptography.x509
from rfc3161_client import TimeStampResponse, VerifierBuilder

from agent.errors import ConfigError, SessiontapeError, VerificationFailed
from agent.seal.timestamp_token import (
    CHECK,
    SHA256_OID,
    TimestampInfo,
    check_granted,
    der,
    der_int,
    parse_response,
    timestamp_info,
    token_info,
)
from agent.seal.tst_signature import check_token_signature

__all__ = [
    "TimestampInfo",
    "request_timestamp",
    "timestamp_info",
    "verify_timestamp",
    "verify_timestamp_signature",
]

QUERY_CONTENT_TYPE = "application/timestamp-query"
# RFC 3161 section 3.4 names "application/timestamp-reply"; some old TSAs answer with the
# draft name "application/timestamp-response".
REPLY_CONTENT_TYPES = frozenset({"application/timestamp-reply", "application/timestamp-response"})
MAX_REPLY_BYTES = 1 << 20
_SHA256_ALG_DER = bytes.fromhex("300d06096086480165030402010500")  # {sha256, NULL}


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


def _encode_request(digest: bytes, nonce: int | None) -> bytes:
    """DER ``TimeStampReq`` (RFC 3161 section 2.4.1): v1, SHA-256 imprint, nonce, certReq."""
    imprint = der(0x30, _SHA256_ALG_DER + der(0x04, digest))
    fields = der_int(1) + imprint
    if nonce is not None:
        fields += der_int(nonce)
    fields += b"\x01\x01\xff"  # certReq BOOLEAN TRUE
    return der(0x30, fields)


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
    response = parse_response(reply, f"reply from TSA {where}")
    check_granted(response)
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


# -- verify --------------------------------------------------------------------------------


def verify_timestamp_signature(token: bytes, digest: bytes) -> TimestampInfo:
    """Check ``token`` as far as it can be checked without trusted roots.

    The token parses, its status is granted, its imprint is SHA-256, its CMS signature
    verifies with the TSA certificate it embeds (which has the critical ``timeStamping``
    extended key usage and was valid at ``genTime``), and its imprint equals ``digest``.
    Whether that certificate is a TSA one trusts is not checked: that needs roots
    (:func:`verify_timestamp`).

    Raises:
        VerificationFailed: ("rfc3161", reason) on the first check that fails.
    """
    response = _checked_signature(token)
    _check_imprint(response, digest)
    return token_info(response, bytes(token))


def verify_timestamp(token: bytes, digest: bytes, roots: list[bytes]) -> TimestampInfo:
    """Check that ``token`` is a valid RFC 3161 timestamp of ``digest`` by a TSA under ``roots``.

    ``roots`` are PEM certificates (one or more per item). Checked: everything
    :func:`verify_timestamp_signature` checks, and that the signer certificate chains to one
    of ``roots`` (at ``genTime``).

    Raises:
        VerificationFailed: ("rfc3161", reason) on the first check that fails.
    """
    trusted = _load_roots(roots)
    response = _checked_signature(token)
    info = response.tst_info
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
    _check_imprint(response, digest)
    return token_info(response, bytes(token))


def _checked_signature(token: bytes) -> TimeStampResponse:
    """Parse ``token`` and check status, imprint algorithm, structure and CMS signature."""
    response = parse_response(token)
    check_granted(response)
    info = response.tst_info
    if info.message_imprint.hash_algorithm != SHA256_OID:
        raise VerificationFailed(
            CHECK,
            f"imprint algorithm {info.message_imprint.hash_algorithm.dotted_string} "
            + "is not SHA-256",
        )
    _check_structure(response)
    gen_time = info.gen_time
    if gen_time.tzinfo is None:
        gen_time = gen_time.replace(tzinfo=UTC)
    check_token_signature(response.time_stamp_token(), _signer_certificate(response), gen_time)
    return response


def _signer_certificate(response: TimeStampResponse) -> cryptography.x509.Certificate:
    """The embedded certificate that the one SignerInfo names by issuer and serial number."""
    signer = next(iter(response.signed_data.signer_infos))
    try:
        for der_cert in response.signed_data.certificates:
            cert = cryptography.x509.load_der_x509_certificate(der_cert)
            if cert.serial_number == signer.serial_number and cert.issuer == signer.issuer:
                return cert
    except Exception as exc:  # InvalidVersion, ValueError, ... from the lazy DER parser
        raise VerificationFailed(
            CHECK, f"signature check failed: an embedded certificate does not parse ({exc})"
        ) from exc
    raise VerificationFailed(
        CHECK, "signature check failed: the token embeds no certificate for its signer"
    )


def _check_imprint(response: TimeStampResponse, digest: bytes) -> None:
    imprint = response.tst_info.message_imprint.message
    if len(digest) != 32 or imprint != bytes(digest):
        raise VerificationFailed(
            CHECK,
            f"token timestamps digest {imprint.hex()[:16]}..., not {bytes(digest).hex()[:16]}...",
        )


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


def tst_verifier(tsa_roots: list[bytes] | None) -> Callable[[bytes, bytes], str] | None:
    """A ``(token, digest) -> verified time`` check against ``tsa_roots`` for ``verify``.

    None when no roots are given: tokens are then parsed but their chain is not checked.
    """
    if not tsa_roots:
        return None
    roots = list(tsa_roots)

    def verifier(token: bytes, digest: bytes) -> str:
        return verify_timestamp(token, digest, roots).gen_time.isoformat()

    return verifier
