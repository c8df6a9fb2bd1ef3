"""Firm key stores whose keys are files under ``<home>/keys/firm/``: ``file`` and ``kms``.

Layout::

    firm/<16 hex>.pem       file: the X25519 private key (PKCS#8 PEM, 0600)
    firm/<16 hex>.kms       kms: the raw X25519 private key sealed by KMS Encrypt (0600)
    firm/<16 hex>.pub.pem   the public key (PEM SubjectPublicKeyInfo)

``kms``: the private key is sealed under the symmetric KMS key ``kms_key_id`` with the
encryption context ``{"sessiontape-firm-key": <firm key id>}``; opening a wrap calls KMS Decrypt
(logged by CloudTrail, revocable by key policy), does the ECDH in memory and drops the key.
Region, endpoint and credentials come from boto3's standard sources (``AWS_ENDPOINT_URL_KMS``
or ``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, ...). A KMS denial is one
``KeyMaterialError`` line naming the KMS key and the firm key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from agent.errors import KeyMaterialError
from agent.keystore.files import write_secret
from agent.keystore.firmwrap import (
    FIRM_KID,
    FirmKeyStore,
    FirmPublicKey,
    firm_key_id,
    parse_public_pem,
    public_pem,
)
from agent.keystore.perms import check_key_file, private_dir

KMS_CONTEXT_KEY = "sessiontape-firm-key"


class _FirmDir(FirmKeyStore):
    """What both file-kept stores share: the directory, public keys and ids."""

    suffix = ""

    def __init__(self, keys_dir: Path) -> None:
        self.dir = keys_dir / "firm"

    def _path(self, kid: str, suffix: str) -> Path | None:
        if not FIRM_KID.match(kid):
            return None  # the id comes from a genesis and names a file: only firm:<16 hex>
        return self.dir / (kid.split(":", 1)[1] + suffix)

    def public_key(self, kid: str) -> FirmPublicKey | None:
        priv, pub = self._path(kid, self.suffix), self._path(kid, ".pub.pem")
        if priv is None or pub is None or not priv.exists():
            return None
        try:
            key = parse_public_pem(pub.read_bytes(), str(pub))
        except OSError as exc:
            raise KeyMaterialError(f"{pub}: cannot read the firm public key") from exc
        if firm_key_id(key) != kid:
            raise KeyMaterialError(f"{pub}: public key is {firm_key_id(key)}, not {kid}")
        return key

    def ids(self) -> list[str]:
        return sorted(
            "firm:" + f.name.removesuffix(self.suffix)
            for f in self.dir.glob("*" + self.suffix)
            if not f.name.endswith(".pub.pem")
        )

    def _store(self, priv: X25519PrivateKey, secret: bytes) -> FirmPublicKey:
        pub = priv.public_key()
        kid = firm_key_id(pub)
        private_dir(self.dir)
        name = kid.split(":", 1)[1]
        (self.dir / f"{name}.pub.pem").write_bytes(public_pem(pub))
        write_secret(self.dir / f"{name}{self.suffix}", secret)
        return pub


def _exchange(priv: X25519PrivateKey, epk: bytes) -> bytes:
    return priv.exchange(X25519PublicKey.from_public_bytes(epk))


class FileFirmKeyStore(_FirmDir):
    """Firm X25519 private keys as 0600 PEM files."""

    backend = "file"
    suffix = ".pem"

    def describe(self) -> str:
        return f"file ({self.dir})"

    def new_key(self) -> FirmPublicKey:
        priv = X25519PrivateKey.generate()
        pem = priv.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return self._store(priv, pem)

    def ecdh(self, kid: str, epk: bytes, *, where: str) -> bytes:
        path = self._path(kid, self.suffix)
        if path is None or not path.exists():
            raise KeyMaterialError(f"{where}: firm key {kid} is not held here")
        check_key_file(path, "firm key file")
        try:
            priv = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyMaterialError(f"{path}: cannot read firm key {kid}") from exc
        if not isinstance(priv, X25519PrivateKey):
            raise KeyMaterialError(f"{path}: firm key {kid} is not an X25519 key")
        return _exchange(priv, epk)


class KmsFirmKeyStore(_FirmDir):
    """Firm X25519 private keys sealed under a symmetric AWS KMS key."""

    backend = "kms"
    suffix = ".kms"

    def __init__(self, keys_dir: Path, kms_key_id: str) -> None:
        super().__init__(keys_dir)
        if not kms_key_id:
            raise KeyMaterialError("seal.firm_keys.kms_key_id is empty (backend kms needs it)")
        self.kms_key_id = kms_key_id
        self._client: Any = None

    def describe(self) -> str:
        return f"kms (KMS key {self.kms_key_id}, sealed keys in {self.dir})"

    def client(self) -> Any:
        """The boto3 KMS client (standard region, endpoint and credential sources)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("kms")
        return self._client

    def _call(self, op: str, kid: str, **kw: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            out: dict[str, Any] = getattr(self.client(), op)(
                KeyId=self.kms_key_id, EncryptionContext={KMS_CONTEXT_KEY: kid}, **kw
            )
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code", "error")
            raise KeyMaterialError(
                f"KMS key {self.kms_key_id}: {op} of firm key {kid} refused: {code}"
                + (f" ({err['Message']})" if err.get("Message") else "")
            ) from exc
        except BotoCoreError as exc:
            raise KeyMaterialError(
                f"KMS key {self.kms_key_id}: {op} of firm key {kid} failed: {exc}"
            ) from exc
        return out

    def new_key(self) -> FirmPublicKey:
        priv = X25519PrivateKey.generate()
        kid = firm_key_id(priv.public_key())
        raw = priv.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        sealed = self._call("encrypt", kid, Plaintext=raw)["CiphertextBlob"]
        return self._store(priv, bytes(sealed))

    def ecdh(self, kid: str, epk: bytes, *, where: str) -> bytes:
        path = self._path(kid, self.suffix)
        if path is None or not path.exists():
            raise KeyMaterialError(f"{where}: firm key {kid} is not held here")
        check_key_file(path, "sealed firm key file")
        try:
            sealed = path.read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"{path}: cannot read sealed firm key {kid}") from exc
        raw = bytes(self._call("decrypt", kid, CiphertextBlob=sealed)["Plaintext"])
        try:
            priv = X25519PrivateKey.from_private_bytes(raw)
        except ValueError as exc:
            raise KeyMaterialError(
                f"{path}: KMS key {self.kms_key_id} opened firm key {kid} to no X25519 key"
            ) from exc
        if firm_key_id(priv.public_key()) != kid:
            raise KeyMaterialError(f"{path}: sealed key is not firm key {kid}")
        return _exchange(priv, epk)
