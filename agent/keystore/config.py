"""The key tables of ``[seal]``: ``[seal.keys]`` (which backend holds the signing key and the
KEK), ``[seal.firm]`` (firm recipients) and ``[seal.firm_keys]`` (the firm-side key store)."""

from __future__ import annotations

from typing import Literal

from agent.configbase import Section


class KeysConfig(Section):
    backend: Literal["file", "pkcs11"] = "file"
    pkcs11_module: str = ""  # path of the token's PKCS#11 library (.so)
    token_label: str = ""  # label of the token that holds the keys
    pin_file: str = ""  # file (0600, owned by the agent's account) holding the user PIN
    signing_key_label: str = "sessiontape-signing"  # label of the current signing key pair
    kek_label: str = "sessiontape-kek"  # label of the current key-encryption key


class FirmConfig(Section):
    """``[seal.firm]``: the firm public keys every segment's data key is also wrapped to."""

    recipients: list[str] = []  # PEM public key files (primary, disaster recovery, ...)
    require: bool = False  # true: refuse to record while recipients is empty


class FirmKeysConfig(Section):
    """``[seal.firm_keys]``: where this home keeps the firm's private keys (firm side only)."""

    backend: Literal["file", "pkcs11", "kms"] = "file"
    pkcs11_module: str = ""  # pkcs11: path of the token's PKCS#11 library (.so)
    token_label: str = ""  # pkcs11: label of the token that holds the firm keys
    pin_file: str = ""  # pkcs11: file (0600) holding the token's user PIN
    kms_key_id: str = ""  # kms: id, ARN or alias of the symmetric KMS key sealing firm keys
