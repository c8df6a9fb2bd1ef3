"""RFC 3161 timestamps against a real OpenSSL TSA over real HTTP on 127.0.0.1."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rfc3161_client import decode_timestamp_response

from agent.errors import ConfigError, SessiontapeError, VerificationFailed
from agent.seal.timestamp import request_timestamp, timestamp_info, verify_timestamp
from agent.seal.tsa_local import POLICY_OID, LocalTSA

DIGEST = hashlib.sha256(b"seal body of segment 000001").digest()

Responder = Callable[[bytes], tuple[int, str, bytes]]


@pytest.fixture
def http_server() -> Iterator[Callable[[Responder], str]]:
    """Start loopback HTTP servers whose POST answers come from a function; stop them after."""
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Responder) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                code, ctype, payload = respond(body)
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return f"http://127.0.0.1:{server.server_address[1]}/tsa"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_token_for_digest_verifies_against_root_with_gen_time_now(local_tsa: LocalTSA) -> None:
    before = datetime.now(UTC)
    token = request_timestamp(DIGEST, local_tsa.url)
    info = verify_timestamp(token, DIGEST, [local_tsa.root_pem])

    assert info.digest == DIGEST
    assert info.hash_algorithm == "2.16.840.1.101.3.4.2.1"
    assert info.policy == POLICY_OID
    assert info.gen_time.tzinfo is not None and info.gen_time.utcoffset() == timedelta(0)
    assert (
        before - timedelta(seconds=2) <= info.gen_time <= datetime.now(UTC) + timedelta(seconds=2)
    )
    assert (
        info.gen_time_ns
        == int(info.gen_time.timestamp()) * 10**9 + info.gen_time.microsecond * 1000
    )
    assert info.tsa_name is not None and "TSA" in info.tsa_name
    assert info.tsa_cert_serial == 2
    assert info.accuracy_us == 1_000_000
    assert info.nonce is not None


def test_tokens_have_distinct_serials_and_nonces(local_tsa: LocalTSA) -> None:
    first = timestamp_info(request_timestamp(DIGEST, local_tsa.url))
    second = timestamp_info(request_timestamp(DIGEST, local_tsa.url))
    assert first.serial != second.serial
    assert first.nonce != second.nonce


def test_request_without_nonce_still_verifies(local_tsa: LocalTSA) -> None:
    token = request_timestamp(DIGEST, local_tsa.url, nonce=False)
    assert verify_timestamp(token, DIGEST, [local_tsa.root_pem]).nonce is None


def test_token_verifies_with_stock_openssl_ts_verify(local_tsa: LocalTSA, tmp_path: Path) -> None:
    # A third party (auditor) must be able to check a stored seal token without sessiontape.
    (tmp_path / "seal.tsr").write_bytes(request_timestamp(DIGEST, local_tsa.url))
    (tmp_path / "root.pem").write_bytes(local_tsa.root_pem)
    result = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            DIGEST.hex(),
            "-in",
            "seal.tsr",
            "-CAfile",
            "root.pem",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Verification: OK" in result.stdout


def test_bare_timestamp_token_is_accepted_too(local_tsa: LocalTSA) -> None:
    response = request_timestamp(DIGEST, local_tsa.url)
    bare = decode_timestamp_response(response).time_stamp_token()
    assert verify_timestamp(bare, DIGEST, [local_tsa.root_pem]) == verify_timestamp(
        response, DIGEST, [local_tsa.root_pem]
    )


def test_rewritten_imprint_fails_signature_check(local_tsa: LocalTSA) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    at = token.index(DIGEST)
    forged = _flip(token, at + 31)
    forged_digest = _flip(DIGEST, 31)
    # The attacker claims the token covers another digest: the CMS signature must catch it.
    with pytest.raises(VerificationFailed) as caught:
        verify_timestamp(forged, forged_digest, [local_tsa.root_pem])
    assert caught.value.check == "rfc3161"
    assert "signed attributes do not match the TSTInfo" in str(caught.value)


def test_altered_gen_time_fails_signature_check(local_tsa: LocalTSA) -> None:
    # Moved one year later (a year earlier would also fail, but on certificate validity first).
    token = request_timestamp(DIGEST, local_tsa.url)
    info = timestamp_info(token)
    stem = info.gen_time.strftime("%Y%m%d%H%M%S").encode()
    at = token.index(b"\x18" + bytes([token[token.index(stem) - 1]]) + stem)
    year_digit = at + 2 + 3  # last digit of the year
    year = info.gen_time.year + 1
    altered = token[:year_digit] + str(year)[-1].encode() + token[year_digit + 1 :]
    if year % 10 == 0:  # 2029 -> 2030: the tens digit changes too
        altered = altered[: year_digit - 1] + str(year)[-2].encode() + altered[year_digit:]
    assert timestamp_info(altered).gen_time.year == year
    with pytest.raises(
        VerificationFailed, match=r"^rfc3161: signature check failed: signed attributes"
    ):
        verify_timestamp(altered, DIGEST, [local_tsa.root_pem])


def test_flipped_signature_byte_fails_naming_rfc3161(local_tsa: LocalTSA) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    with pytest.raises(VerificationFailed) as caught:
        verify_timestamp(_flip(token, len(token) - 2), DIGEST, [local_tsa.root_pem])
    assert caught.value.check == "rfc3161"
    assert "invalid CMS signature" in str(caught.value)
    assert caught.value.exit_code == 1


def test_every_single_byte_change_that_alters_meaning_is_rejected(local_tsa: LocalTSA) -> None:
    # Flip each byte of a real token: all must fail except bytes CMS leaves unsigned and that do
    # not change what the token asserts (signatureAlgorithm OID arcs, which OpenSSL derives
    # from the key). genTime, imprint, policy, serial, TSA name and certificates are all covered.
    token = request_timestamp(DIGEST, local_tsa.url)
    sig_alg = token.rindex(bytes.fromhex("06082a8648ce3d040302")) + 2  # in SignerInfo
    accepted = []
    for i in range(len(token)):
        try:
            verify_timestamp(_flip(token, i), DIGEST, [local_tsa.root_pem])
        except VerificationFailed:
            continue
        accepted.append(i)
    assert set(accepted) <= set(range(sig_alg, sig_alg + 8))


def test_garbage_token_fails_naming_rfc3161(local_tsa: LocalTSA) -> None:
    with pytest.raises(VerificationFailed, match=r"^rfc3161: .*not a DER RFC 3161"):
        verify_timestamp(b"\x30\x03not a token", DIGEST, [local_tsa.root_pem])
    with pytest.raises(VerificationFailed, match=r"^rfc3161: "):
        timestamp_info(b"")


def test_different_digest_fails_with_imprint_reason(local_tsa: LocalTSA) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    other = hashlib.sha256(b"another seal body").digest()
    with pytest.raises(VerificationFailed) as caught:
        verify_timestamp(token, other, [local_tsa.root_pem])
    assert caught.value.check == "rfc3161"
    assert f"token timestamps digest {DIGEST.hex()[:16]}" in str(caught.value)
    assert other.hex()[:16] in str(caught.value)


def test_root_of_another_tsa_is_not_trusted(local_tsa: LocalTSA, tmp_path: Path) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    stranger = LocalTSA(tmp_path / "other-tsa")
    assert stranger.root_pem != local_tsa.root_pem
    reason = r"^rfc3161: TSA certificate does not chain to a trusted root \(unable to get local"
    with pytest.raises(VerificationFailed, match=reason):
        verify_timestamp(token, DIGEST, [stranger.root_pem])
    # Trusting both roots accepts it (several TSAs may be configured).
    both = [stranger.root_pem, local_tsa.root_pem]
    assert verify_timestamp(token, DIGEST, both).digest == DIGEST


def test_no_roots_or_bad_root_fails_naming_rfc3161(local_tsa: LocalTSA) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    with pytest.raises(VerificationFailed, match=r"^rfc3161: no TSA trust roots"):
        verify_timestamp(token, DIGEST, [])
    with pytest.raises(VerificationFailed, match=r"^rfc3161: a TSA root is not a PEM"):
        verify_timestamp(token, DIGEST, [b"-----BEGIN CERTIFICATE-----\nAAAA\n"])


def test_tsa_down_is_a_clear_retryable_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SessiontapeError) as caught:
        request_timestamp(DIGEST, f"http://127.0.0.1:{port}/tsa", timeout=2)
    assert caught.value.retryable is True
    assert not isinstance(caught.value, VerificationFailed)
    assert f"TSA http://127.0.0.1:{port}/tsa unreachable" in str(caught.value)


def test_tsa_that_never_answers_times_out_retryably() -> None:
    with socket.socket() as sock:  # listens but never accepts: the request hangs
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(SessiontapeError) as caught:
            request_timestamp(DIGEST, f"http://127.0.0.1:{port}/", timeout=0.3)
    assert caught.value.retryable is True
    assert "timed out" in str(caught.value)


def test_http_500_is_a_clear_retryable_error(http_server: Callable[[Responder], str]) -> None:
    url = http_server(lambda _q: (500, "text/plain", b"boom"))
    with pytest.raises(SessiontapeError) as caught:
        request_timestamp(DIGEST, url)
    assert str(caught.value) == f"TSA {url} answered HTTP 500 Internal Server Error"
    assert caught.value.retryable is True


def test_http_403_is_not_retryable(http_server: Callable[[Responder], str]) -> None:
    url = http_server(lambda _q: (403, "text/plain", b"no"))
    with pytest.raises(SessiontapeError, match="answered HTTP 403") as caught:
        request_timestamp(DIGEST, url)
    assert caught.value.retryable is False


def test_wrong_content_type_is_rejected(http_server: Callable[[Responder], str]) -> None:
    url = http_server(lambda _q: (200, "text/html", b"<html>captive portal</html>"))
    with pytest.raises(VerificationFailed, match=r"^rfc3161: .*content type 'text/html'"):
        request_timestamp(DIGEST, url)


def test_replayed_reply_fails_nonce_check(
    local_tsa: LocalTSA, http_server: Callable[[Responder], str]
) -> None:
    old = request_timestamp(DIGEST, local_tsa.url)
    url = http_server(lambda _q: (200, "application/timestamp-reply", old))
    with pytest.raises(VerificationFailed, match=r"^rfc3161: .*nonce does not match"):
        request_timestamp(DIGEST, url)


def test_reply_for_another_digest_fails_imprint_check(
    local_tsa: LocalTSA, http_server: Callable[[Responder], str]
) -> None:
    other = hashlib.sha256(b"something else").digest()
    # A TSA that answers every query with a token for a different digest (nonce off on both).
    url = http_server(
        lambda _q: (
            200,
            "application/timestamp-reply",
            request_timestamp(other, local_tsa.url, nonce=False),
        )
    )
    with pytest.raises(VerificationFailed, match=r"^rfc3161: .*imprint does not match"):
        request_timestamp(DIGEST, url, nonce=False)


def test_rejection_status_is_reported(http_server: Callable[[Responder], str]) -> None:
    # PKIStatusInfo {status rejection(2), statusString "policy not supported"}, no token.
    text = b"policy not supported"
    status_info = b"\x30" + bytes([3 + 4 + len(text)]) + b"\x02\x01\x02"
    status_info += b"\x30" + bytes([2 + len(text)]) + b"\x0c" + bytes([len(text)]) + text
    reply = b"\x30" + bytes([len(status_info)]) + status_info
    url = http_server(lambda _q: (200, "application/timestamp-reply", reply))
    with pytest.raises(VerificationFailed, match=r"^rfc3161: TSA refused: status 2 .*policy"):
        request_timestamp(DIGEST, url)


def test_bad_url_or_digest_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="http"):
        request_timestamp(DIGEST, "file:///etc/passwd")
    with pytest.raises(ConfigError, match="32 bytes"):
        request_timestamp(b"short", "http://127.0.0.1:9/")


def test_local_tsa_reuses_its_keys(tmp_path: Path) -> None:
    first = LocalTSA(tmp_path).root_pem
    assert LocalTSA(tmp_path).root_pem == first
    lines = (tmp_path / "tsa.cnf").read_text().splitlines()
    assert not [line for line in lines if line.replace(" ", "").startswith("certs=")]
    assert "signer_cert = $dir/tsa.pem" in lines
