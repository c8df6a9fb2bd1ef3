"""Escrow sealing to the officer's X25519 key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from agent.errors import KeyMaterialError
from agent.mask.escrow import EscrowSealer, blob_key_id, generate_keypair, key_id, open_sealed


def _keys() -> tuple[X25519PrivateKey, str]:
    pem, pub = generate_keypair()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, X25519PrivateKey)
    return key, pub


def test_round_trip_with_the_right_key() -> None:
    """A sealed value opens with the matching private key."""
    priv, pub = _keys()
    blob = EscrowSealer(pub).seal("ACCT-4417-2290", "esc_0011223344556677")
    assert open_sealed(blob, "esc_0011223344556677", priv) == "ACCT-4417-2290"


def test_wrong_key_fails_without_value() -> None:
    """Another officer's key is refused with an error naming both key ids, not the value."""
    _, pub = _keys()
    other, other_pub = _keys()
    blob = EscrowSealer(pub).seal("078-05-1120", "esc_0011223344556677")
    with pytest.raises(KeyMaterialError) as exc:
        open_sealed(blob, "esc_0011223344556677", other)
    assert "078-05-1120" not in str(exc.value)
    assert blob_key_id(blob) in str(exc.value)
    import base64

    assert key_id(base64.b64decode(other_pub)) in str(exc.value)


def test_blob_is_bound_to_its_token() -> None:
    """A blob moved under another token does not open."""
    priv, pub = _keys()
    blob = EscrowSealer(pub).seal("secret", "esc_0011223344556677")
    with pytest.raises(KeyMaterialError):
        open_sealed(blob, "esc_ffffffffffffffff", priv)


def test_sealing_is_randomised_and_hides_the_value() -> None:
    """Two seals of one value differ, and neither contains it."""
    _, pub = _keys()
    s = EscrowSealer(pub)
    a, b = s.seal("078-05-1120", "esc_0"), s.seal("078-05-1120", "esc_0")
    assert a != b and "078-05-1120" not in a
