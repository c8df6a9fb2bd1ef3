"""The PKCS#11 backend: the signing key and the KEKs are generated in a token (TPM, HSM,
SoftHSM2) as non-extractable, sensitive objects, and used there; their bytes never reach the
agent.

Objects in the token: the current Ed25519 key pair and the current AES-256 KEK carry the
configured labels (``signing_key_label``, ``kek_label``); rotation renames the previous ones to
``<label>.retired`` and keeps them, so old segments still unwrap. Every object's ``CKA_ID`` is
its sessiontape key id (``ed25519:…`` / ``kek:…``), which is how a segment's KEK is found.

A data key is wrapped with ``CKM_AES_KEY_WRAP`` (RFC 3394, the same bytes the file backend
writes): it enters the token as a short-lived session object and leaves only wrapped; to read a
segment it is unwrapped into a session object whose value is read back and the object destroyed.

The binding is python-pkcs11. Misconfiguration (no library, no token, no PIN file, wrong PIN, a
label that names no key) is one ``KeyMaterialError`` line; there is no fallback to files.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path
from typing import Any

from agent.errors import KeyMaterialError
from agent.keystore.base import KeyStore, Signer, signing_key_id
from agent.keystore.config import KeysConfig
from agent.keystore.perms import check_key_file

ED25519_OID = "1.3.101.112"
RETIRED = ".retired"
_libs: dict[str, Any] = {}


def _binding() -> Any:
    try:
        import pkcs11
    except ImportError as exc:
        raise KeyMaterialError(
            "seal.keys.backend = pkcs11 needs the python-pkcs11 package"
        ) from exc
    return pkcs11


def _raw_point(point: bytes) -> bytes:
    """The 32-byte Ed25519 public key from ``CKA_EC_POINT`` (DER OCTET STRING or raw)."""
    if len(point) == 34 and point[:2] == b"\x04\x20":
        return point[2:]
    if len(point) == 32:
        return point
    raise KeyMaterialError(f"PKCS#11 public key has an unexpected CKA_EC_POINT ({len(point)} B)")


class TokenSigner:
    """A :class:`Signer` whose private key is a token object (``CKM_EDDSA``)."""

    def __init__(self, key_id: str, public_raw: bytes, private: Any, lock: threading.Lock):
        self.key_id = key_id
        self.public_raw = public_raw
        self._private = private
        self._lock = lock

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` in the token."""
        p11 = _binding()
        with self._lock:
            try:
                return bytes(self._private.sign(data, mechanism=p11.Mechanism.EDDSA))
            except p11.PKCS11Error as exc:
                raise KeyMaterialError(
                    f"PKCS#11 signing with {self.key_id} failed: {exc!r}"
                ) from exc


class Pkcs11KeyStore(KeyStore):
    """Signing keys and KEKs held in a PKCS#11 token."""

    backend = "pkcs11"

    def __init__(self, settings: KeysConfig) -> None:
        self.settings = settings
        self._session: Any = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"pkcs11 (token {self.settings.token_label!r}, {self.settings.pkcs11_module})"

    # --- the session ----------------------------------------------------------------------
    def session(self) -> Any:
        """The logged-in read-write session, opened on first use."""
        if self._session is None:
            self._session = self._open()
        return self._session

    def _open(self) -> Any:
        p11 = _binding()
        s = self.settings
        if not s.pkcs11_module:
            raise KeyMaterialError("seal.keys.pkcs11_module is empty (backend pkcs11 needs it)")
        if not s.token_label:
            raise KeyMaterialError("seal.keys.token_label is empty (backend pkcs11 needs it)")
        lib = _libs.get(s.pkcs11_module)
        if lib is None:
            try:
                lib = _libs[s.pkcs11_module] = p11.lib(s.pkcs11_module)
            except (p11.PKCS11Error, OSError) as exc:
                raise KeyMaterialError(
                    f"{s.pkcs11_module}: cannot load the PKCS#11 library"
                ) from exc
        try:
            token = lib.get_token(token_label=s.token_label)
        except p11.NoSuchToken:
            raise KeyMaterialError(
                f"PKCS#11 token {s.token_label!r} not found in {s.pkcs11_module}"
            ) from None
        pin = self._pin()
        try:
            return token.open(user_pin=pin, rw=True)
        except p11.UserAlreadyLoggedIn:  # login is per process: another store of ours did it
            return token.open(rw=True)
        except p11.PinIncorrect:
            raise KeyMaterialError(
                f"PKCS#11 token {s.token_label!r}: wrong PIN (from {s.pin_file})"
            ) from None
        except p11.PKCS11Error as exc:
            raise KeyMaterialError(
                f"PKCS#11 token {s.token_label!r}: login failed ({type(exc).__name__})"
            ) from None

    def _pin(self) -> str:
        if not self.settings.pin_file:
            raise KeyMaterialError("seal.keys.pin_file is empty (backend pkcs11 needs it)")
        path = Path(self.settings.pin_file)
        check_key_file(path, "PIN file")
        try:
            return path.read_text(encoding="utf-8").strip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyMaterialError(f"{path}: cannot read the PIN file") from exc

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _find(self, cls: Any, **attrs: Any) -> list[Any]:
        p11 = _binding()
        template = {p11.Attribute.CLASS: cls}
        for name, value in attrs.items():
            template[getattr(p11.Attribute, name.upper())] = value
        with self._lock:
            return list(self.session().get_objects(template))

    def _one(self, cls: Any, label: str, what: str) -> Any:
        found = self._find(cls, label=label)
        if not found:
            raise KeyMaterialError(
                f"PKCS#11 token {self.settings.token_label!r}: no {what} labelled {label!r} "
                "(run `sessiontape keys init`)"
            )
        if len(found) > 1:
            raise KeyMaterialError(
                f"PKCS#11 token {self.settings.token_label!r}: {len(found)} objects labelled "
                f"{label!r}; keep one current {what}"
            )
        return found[0]

    def _retire(self, cls: Any, label: str) -> None:
        p11 = _binding()
        with self._lock:
            for obj in list(
                self.session().get_objects({p11.Attribute.CLASS: cls, p11.Attribute.LABEL: label})
            ):
                obj[p11.Attribute.LABEL] = label + RETIRED

    # --- creation -------------------------------------------------------------------------
    def has_signing_key(self) -> bool:
        p11 = _binding()
        return bool(self._find(p11.ObjectClass.PRIVATE_KEY, label=self.settings.signing_key_label))

    def has_kek(self) -> bool:
        p11 = _binding()
        return bool(self._find(p11.ObjectClass.SECRET_KEY, label=self.settings.kek_label))

    def new_signing_key(self) -> Signer:
        """An Ed25519 key pair generated in the token; the private key is sensitive and
        non-extractable. The previous current pair is relabelled ``<label>.retired``."""
        p11 = _binding()
        from pkcs11.util.ec import encode_named_curve_parameters

        attr, label = p11.Attribute, self.settings.signing_key_label
        pending = label + ".new"
        with self._lock:
            s = self.session()
            params = s.create_domain_parameters(
                p11.KeyType.EC_EDWARDS,
                {attr.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)},
                local=True,
            )
            pub, priv = params.generate_keypair(
                mechanism=p11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                store=True,
                label=pending,
                public_template={attr.VERIFY: True},
                private_template={
                    attr.SIGN: True,
                    attr.SENSITIVE: True,
                    attr.EXTRACTABLE: False,
                    attr.PRIVATE: True,
                },
            )
            raw = _raw_point(bytes(pub[attr.EC_POINT]))
            kid = signing_key_id(raw)
            for obj in (pub, priv):
                obj[attr.ID] = kid.encode()
        self._retire(p11.ObjectClass.PRIVATE_KEY, label)
        self._retire(p11.ObjectClass.PUBLIC_KEY, label)
        with self._lock:
            for obj in (pub, priv):
                obj[attr.LABEL] = label
        return TokenSigner(kid, raw, priv, self._lock)

    def new_kek(self) -> str:
        """An AES-256 KEK generated in the token (sensitive, non-extractable, wrap/unwrap
        only); the previous current KEK is relabelled ``<label>.retired`` and kept."""
        p11 = _binding()
        attr, label = p11.Attribute, self.settings.kek_label
        kid = "kek:" + secrets.token_hex(8)
        self._retire(p11.ObjectClass.SECRET_KEY, label)
        with self._lock:
            self.session().generate_key(
                p11.KeyType.AES,
                256,
                id=kid.encode(),
                label=label,
                store=True,
                template={
                    attr.SENSITIVE: True,
                    attr.EXTRACTABLE: False,
                    attr.WRAP: True,
                    attr.UNWRAP: True,
                    attr.ENCRYPT: False,
                    attr.DECRYPT: False,
                    attr.SIGN: False,
                    attr.VERIFY: False,
                    attr.PRIVATE: True,
                },
            )
        return kid

    # --- use ------------------------------------------------------------------------------
    def signer(self) -> Signer:
        p11 = _binding()
        label = self.settings.signing_key_label
        priv = self._one(p11.ObjectClass.PRIVATE_KEY, label, "signing key")
        pub = self._one(p11.ObjectClass.PUBLIC_KEY, label, "signing public key")
        with self._lock:
            raw = _raw_point(bytes(pub[p11.Attribute.EC_POINT]))
            kid = bytes(priv[p11.Attribute.ID]).decode("ascii", "replace")
        if signing_key_id(raw) != kid:
            raise KeyMaterialError(
                f"PKCS#11 token {self.settings.token_label!r}: signing key {label!r} has id "
                f"{kid!r}, but its public key is {signing_key_id(raw)}"
            )
        return TokenSigner(kid, raw, priv, self._lock)

    def current_kek_id(self) -> str:
        p11 = _binding()
        kek = self._one(p11.ObjectClass.SECRET_KEY, self.settings.kek_label, "KEK")
        with self._lock:
            return bytes(kek[p11.Attribute.ID]).decode("ascii", "replace")

    def _kek(self, kid: str) -> Any | None:
        p11 = _binding()
        found = self._find(p11.ObjectClass.SECRET_KEY, id=kid.encode())
        return found[0] if found else None

    def wrap(self, dek: bytes) -> tuple[str, bytes]:
        p11 = _binding()
        attr = p11.Attribute
        kid = self.current_kek_id()
        kek = self._kek(kid)
        assert kek is not None  # current_kek_id found it by label
        with self._lock:
            tmp = self.session().create_object(
                {
                    attr.CLASS: p11.ObjectClass.SECRET_KEY,
                    attr.KEY_TYPE: p11.KeyType.AES,
                    attr.VALUE: dek,
                    attr.TOKEN: False,
                    attr.EXTRACTABLE: True,
                    attr.SENSITIVE: False,
                }
            )
            try:
                wrapped = bytes(kek.wrap_key(tmp, mechanism=p11.Mechanism.AES_KEY_WRAP))
            except p11.PKCS11Error as exc:
                raise KeyMaterialError(f"PKCS#11 wrap under KEK {kid} failed: {exc!r}") from exc
            finally:
                tmp.destroy()
        return kid, wrapped

    def holds(self, kid: str) -> bool:
        return self._kek(kid) is not None

    def unwrap(self, kid: str, wrapped: bytes, *, where: str) -> bytes:
        p11 = _binding()
        attr = p11.Attribute
        kek = self._kek(kid)
        if kek is None:
            raise KeyMaterialError(
                f"{where}: decryption key {kid} is not in PKCS#11 token "
                f"{self.settings.token_label!r}"
            )
        with self._lock:
            try:
                key = kek.unwrap_key(
                    p11.ObjectClass.SECRET_KEY,
                    p11.KeyType.AES,
                    wrapped,
                    mechanism=p11.Mechanism.AES_KEY_WRAP,
                    store=False,
                    template={attr.EXTRACTABLE: True, attr.SENSITIVE: False},
                )
            except p11.PKCS11Error:
                raise KeyMaterialError(
                    f"{where}: data key does not unwrap with KEK {kid}"
                ) from None
            try:
                return bytes(key[attr.VALUE])
            finally:
                key.destroy()

    def ids(self) -> dict[str, list[str]]:
        p11 = _binding()
        out: dict[str, list[str]] = {}
        for kind, cls, label in (
            ("signing", p11.ObjectClass.PRIVATE_KEY, self.settings.signing_key_label),
            ("kek", p11.ObjectClass.SECRET_KEY, self.settings.kek_label),
        ):
            objs = self._find(cls, label=label) + self._find(cls, label=label + RETIRED)
            with self._lock:
                out[kind] = sorted(
                    bytes(o[p11.Attribute.ID]).decode("ascii", "replace") for o in objs
                )
        return out
