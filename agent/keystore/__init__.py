"""Where the agent's secret keys live: a file backend (0600 files in the agent's account) and a
PKCS#11 backend (a TPM or HSM holds them non-exportable), behind one :class:`KeyStore`."""

from agent.keystore.base import KeySigner, KeyStore, Signer, kek_id, signing_key_id
from agent.keystore.config import KeysConfig

__all__ = ["KeySigner", "KeyStore", "KeysConfig", "Signer", "kek_id", "signing_key_id"]
