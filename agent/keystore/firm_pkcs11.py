"""The ``pkcs11`` firm key store: firm P-256 key pairs generated in a token (HSM, SoftHSM2).

The private key is sensitive, non-extractable and may only derive (``CKA_DERIVE``); its
``CKA_ID`` is the firm key id and its label ``sessiontape-firm``. Opening a wrap derives with
``CKM_ECDH1_DERIVE`` (KDF NULL) against the wrap's ephemeral point into a short-lived session
object whose value (the ECDH shared secret) is read and the object destroyed: the shared
secret leaves the token, the private key never does. P-256, not X25519: SoftHSM2 2.6 (and
python-pkcs11) offer no Montgomery-curve key generation.

The token session is opened like the signing backend's (library, token label, 0600 PIN file);
misconfiguration is one ``KeyMaterialError`` line naming the ``seal.firm_keys`` key.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from agent.errors import KeyMaterialError
from agent.keystore.config import FirmKeysConfig, KeysConfig
from agent.keystore.firmwrap import FirmKeyStore, FirmPublicKey, firm_key_id
from agent.keystore.pkcs11 import Pkcs11KeyStore, _binding

P256_OID = "1.2.840.10045.3.1.7"
FIRM_LABEL = "sessiontape-firm"


def _point(ec_point: bytes) -> bytes:
    """The uncompressed P-256 point from ``CKA_EC_POINT`` (DER OCTET STRING or raw)."""
    if len(ec_point) == 67 and ec_point[:2] == b"\x04\x41":
        return ec_point[2:]
    if len(ec_point) == 65:
        return ec_point
    raise KeyMaterialError(
        f"PKCS#11 firm public key has an unexpected CKA_EC_POINT ({len(ec_point)} B)"
    )


class Pkcs11FirmKeyStore(FirmKeyStore):
    """Firm P-256 private keys held non-extractable in a PKCS#11 token."""

    backend = "pkcs11"

    def __init__(self, settings: FirmKeysConfig) -> None:
        for key in ("pkcs11_module", "token_label", "pin_file"):
            if not getattr(settings, key):
                raise KeyMaterialError(f"seal.firm_keys.{key} is empty (backend pkcs11 needs it)")
        self.settings = settings
        self._token = Pkcs11KeyStore(
            KeysConfig(
                backend="pkcs11",
                pkcs11_module=settings.pkcs11_module,
                token_label=settings.token_label,
                pin_file=settings.pin_file,
            )
        )

    def describe(self) -> str:
        return f"pkcs11 (token {self.settings.token_label!r}, {self.settings.pkcs11_module})"

    def close(self) -> None:
        self._token.close()

    def new_key(self) -> FirmPublicKey:
        p11 = _binding()
        from pkcs11.util.ec import encode_named_curve_parameters

        attr = p11.Attribute
        with self._token._lock:
            curve = {attr.EC_PARAMS: encode_named_curve_parameters(P256_OID)}
            params = self._token.session().create_domain_parameters(
                p11.KeyType.EC, curve, local=True
            )
            pub, priv = params.generate_keypair(
                mechanism=p11.Mechanism.EC_KEY_PAIR_GEN,
                store=True,
                label=FIRM_LABEL,
                public_template={attr.VERIFY: False, attr.DERIVE: False},
                private_template={
                    attr.DERIVE: True,
                    attr.SIGN: False,
                    attr.SENSITIVE: True,
                    attr.EXTRACTABLE: False,
                    attr.PRIVATE: True,
                },
            )
            key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), _point(bytes(pub[attr.EC_POINT]))
            )
            kid = firm_key_id(key)
            for obj in (pub, priv):
                obj[attr.ID] = kid.encode()
        return key

    def _objects(self, cls: Any, kid: str) -> list[Any]:
        return self._token._find(cls, id=kid.encode(), label=FIRM_LABEL)

    def public_key(self, kid: str) -> FirmPublicKey | None:
        p11 = _binding()
        if not self._objects(p11.ObjectClass.PRIVATE_KEY, kid):
            return None
        pubs = self._objects(p11.ObjectClass.PUBLIC_KEY, kid)
        if not pubs:
            raise KeyMaterialError(
                f"PKCS#11 token {self.settings.token_label!r}: firm key {kid} has no public key"
            )
        with self._token._lock:
            raw = _point(bytes(pubs[0][p11.Attribute.EC_POINT]))
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        if firm_key_id(key) != kid:
            raise KeyMaterialError(
                f"PKCS#11 token {self.settings.token_label!r}: object {kid} holds "
                f"{firm_key_id(key)}"
            )
        return key

    def ecdh(self, kid: str, epk: bytes, *, where: str) -> bytes:
        p11 = _binding()
        attr = p11.Attribute
        privs = self._objects(p11.ObjectClass.PRIVATE_KEY, kid)
        if not privs:
            raise KeyMaterialError(f"{where}: firm key {kid} is not held here")
        with self._token._lock:
            try:
                secret = privs[0].derive_key(
                    p11.KeyType.GENERIC_SECRET,
                    256,
                    mechanism=p11.Mechanism.ECDH1_DERIVE,
                    mechanism_param=(p11.KDF.NULL, None, epk),
                    store=False,
                    template={attr.EXTRACTABLE: True, attr.SENSITIVE: False},
                )
            except p11.PKCS11Error as exc:
                raise KeyMaterialError(
                    f"{where}: PKCS#11 ECDH with firm key {kid} failed ({type(exc).__name__})"
                ) from None
            try:
                return bytes(secret[attr.VALUE])
            finally:
                secret.destroy()

    def ids(self) -> list[str]:
        p11 = _binding()
        objs = self._token._find(p11.ObjectClass.PRIVATE_KEY, label=FIRM_LABEL)
        with self._token._lock:
            return sorted(bytes(o[p11.Attribute.ID]).decode("ascii", "replace") for o in objs)
