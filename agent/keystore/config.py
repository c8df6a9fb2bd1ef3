"""The ``[seal.keys]`` table: which backend holds the signing key and the KEK."""

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
