"""Recipient / escrow X25519 key files: PEM written, PEM or raw (base64, hex) read, and
errors that name the file."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from agent.errors import KeyMaterialError
from agent.mask.keyfile import load_private_key, load_public_key, public_pem

PRIV = X25519PrivateKey.generate()
RAW_PUB = PRIV.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
RAW_PRIV = PRIV.private_bytes(
    serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
)


@pytest.mark.parametrize(
    "text",
    [
        public_pem(RAW_PUB).decode(),
        base64.b64encode(RAW_PUB).decode() + "\n",
        base64.urlsafe_b64encode(RAW_PUB).decode().rstrip("="),
        RAW_PUB.hex().upper(),
    ],
    ids=["pem", "base64", "base64url-unpadded", "hex"],
)
def test_public_key_in_every_accepted_form_reads_as_the_same_key(tmp_path: Path, text: str) -> None:
    """PEM SubjectPublicKeyInfo, base64 (either alphabet) and hex all give the raw key."""
    f = tmp_path / "k"
    f.write_text(text)
    assert load_public_key(f) == RAW_PUB


@pytest.mark.parametrize(
    "text",
    [
        PRIV.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        base64.b64encode(RAW_PRIV).decode(),
        RAW_PRIV.hex(),
    ],
    ids=["pem", "base64", "hex"],
)
def test_private_key_in_every_accepted_form_reads_as_the_same_key(
    tmp_path: Path, text: str
) -> None:
    """PKCS#8 PEM, base64 and hex all give a key whose public half is ours."""
    f = tmp_path / "k"
    f.write_text(text)
    got = load_private_key(f).public_key()
    assert got.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw) == RAW_PUB


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "not an X25519 public key"),
        (base64.b64encode(b"x" * 31).decode(), "not an X25519 public key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "a private key where"),
    ],
)
def test_a_file_that_is_no_public_key_is_refused_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    """Garbage, a 31-byte key, or a private key given as the recipient: one clear error."""
    f = tmp_path / "bad.pub"
    f.write_text(text)
    with pytest.raises(KeyMaterialError, match=message) as exc:
        load_public_key(f)
    assert str(f) in exc.value.message


def test_a_public_key_given_as_the_private_key_is_refused(tmp_path: Path) -> None:
    """``--recipient-key me.pub.pem`` says what is wrong."""
    f = tmp_path / "me.pub.pem"
    f.write_bytes(public_pem(RAW_PUB))
    with pytest.raises(KeyMaterialError, match="a public key where a private key is expected"):
        load_private_key(f)
