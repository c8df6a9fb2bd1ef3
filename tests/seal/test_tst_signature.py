"""A timestamp token's CMS signature checked with the certificate it embeds (no trusted roots),
against real tokens from the local ``openssl ts`` TSA."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.errors import VerificationFailed
from agent.seal.timestamp import request_timestamp, verify_timestamp, verify_timestamp_signature
from agent.seal.tsa_local import LocalTSA

DIGEST = hashlib.sha256(b"seal body checked without roots").digest()


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def test_a_real_token_verifies_without_roots_and_says_what_the_chain_check_says(
    local_tsa: LocalTSA,
) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    assert verify_timestamp_signature(token, DIGEST) == verify_timestamp(
        token, DIGEST, [local_tsa.root_pem]
    )


def test_without_roots_every_single_byte_change_is_rejected(local_tsa: LocalTSA) -> None:
    # Status, TSTInfo, certificate (bound by the signed ESS signing-certificate attribute),
    # SignerInfo, its algorithm identifiers and the signature: no byte can change unnoticed.
    token = request_timestamp(DIGEST, local_tsa.url)
    accepted = []
    for i in range(len(token)):
        try:
            verify_timestamp_signature(_flip(token, i), DIGEST)
        except VerificationFailed as exc:
            assert exc.check == "rfc3161"
            continue
        accepted.append(i)
    assert accepted == []


def test_granted_with_modifications_is_not_accepted(local_tsa: LocalTSA) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    status = token.index(b"\x30\x03\x02\x01\x00") + 4
    with pytest.raises(VerificationFailed) as caught:
        verify_timestamp_signature(_flip(token, status), DIGEST)
    assert caught.value.message == (
        "rfc3161: TSA granted with modifications (status 1): not accepted"
    )


def test_a_token_for_another_digest_fails_with_the_imprint_reason(local_tsa: LocalTSA) -> None:
    token = request_timestamp(DIGEST, local_tsa.url)
    other = hashlib.sha256(b"another seal").digest()
    with pytest.raises(VerificationFailed) as caught:
        verify_timestamp_signature(token, other)
    assert caught.value.message == (
        f"rfc3161: token timestamps digest {DIGEST.hex()[:16]}..., not {other.hex()[:16]}..."
    )


def test_a_token_of_an_untrusted_tsa_passes_the_signature_check_only(
    local_tsa: LocalTSA, tmp_path: Path
) -> None:
    """The limit of a check without roots: any self-made TSA signs validly; only the chain
    check (roots) rejects it."""
    with LocalTSA(tmp_path / "rogue", name="rogue") as rogue:
        token = request_timestamp(DIGEST, rogue.url)
    assert verify_timestamp_signature(token, DIGEST).tsa_name is not None
    with pytest.raises(VerificationFailed, match="does not chain to a trusted root"):
        verify_timestamp(token, DIGEST, [local_tsa.root_pem])
