"""Firm keys in a real SoftHSM2 token: `keys firm-init --backend pkcs11` makes a P-256 key pair
in the token (private half sensitive, non-extractable, derive-only); a segment recorded in
another home with its public key opens in a fresh home that has only the token config and the
trust store."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.keystore.config import FirmKeysConfig
from agent.keystore.firm_pkcs11 import Pkcs11FirmKeyStore
from tests.cli.clirun import run_main
from tests.journals import read_genesis
from tests.keys.firmhome import (
    configure_recipients,
    key_settings_restored,
    keyring,
    new_home,
    read_ns,
    record,
)
from tests.keys.softhsm import Token, token

__all__ = ["key_settings_restored", "token"]
pytestmark = pytest.mark.usefixtures("key_settings_restored")


def _firm_keys(tok: Token) -> FirmKeysConfig:
    return FirmKeysConfig(
        backend="pkcs11",
        pkcs11_module=tok.module,
        token_label=tok.label,
        pin_file=str(tok.pin_file),
    )


def _firm_home(path: Path, tok: Token) -> Path:
    """A home whose config selects ``tok`` as its firm key store (and nothing else)."""
    home = new_home(path)
    settings = _firm_keys(tok).model_dump(exclude={"backend"})
    body = "".join(f'{k} = "{v}"\n' for k, v in settings.items() if v)
    (home / "sessiontape.toml").write_text('[seal.firm_keys]\nbackend = "pkcs11"\n' + body)
    return home


def test_token_firm_key_opens_a_segment_in_a_fresh_home(
    tmp_path: Path, token: Token, capsys: pytest.CaptureFixture[str]
) -> None:
    """The segment's wrap is P-256; the fresh home verifies with --decrypt and reads every
    event through the token; no firm private key file exists anywhere."""
    admin = _firm_home(tmp_path / "admin", token)
    pem = tmp_path / "firm-hsm.pem"
    code, out, err = run_main(capsys, "--home", str(admin), "keys", "firm-init", "--out", str(pem))
    assert code == 0, err
    kid = out.split("created firm key ", 1)[1].split()[0]
    assert f"(pkcs11 (token {token.label!r}" in out
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, pem)
    (seg,) = record(ws)
    wraps: Any = read_genesis(seg)["firm_wraps"]
    (wrap,) = wraps
    assert wrap["kid"] == kid and wrap["alg"] == "p256-hkdf-sha256-aes256gcm"
    assert len(bytes.fromhex(wrap["epk"])) == 65

    fresh = _firm_home(tmp_path / "fresh", token)
    shutil.copytree(ws / "journals", fresh / "journals")
    pubs = tmp_path / "pubs"
    assert run_main(capsys, "--home", str(ws), "keys", "export-public", str(pubs))[0] == 0
    for pub in pubs.glob("*.pub"):
        assert run_main(capsys, "--home", str(fresh), "keys", "trust", str(pub))[0] == 0
    code, out, err = run_main(capsys, "--home", str(fresh), "verify", "--decrypt")
    assert code == 0, err
    copy = fresh / "journals" / seg.parent.name / seg.name
    assert read_ns(copy, keyring(fresh, _firm_keys(token))) == list(range(10))
    assert not (admin / "keys" / "firm").exists() and not (fresh / "keys" / "firm").exists()


def test_token_firm_private_key_is_sensitive_and_not_extractable(token: Token) -> None:
    """The private key object may derive and nothing else leaves the token."""
    import pkcs11

    store = Pkcs11FirmKeyStore(_firm_keys(token))
    try:
        store.new_key()
        (kid,) = store.ids()
        (priv,) = store._objects(pkcs11.ObjectClass.PRIVATE_KEY, kid)
        attr = pkcs11.Attribute
        assert priv[attr.SENSITIVE] is True and priv[attr.EXTRACTABLE] is False
        assert priv[attr.DERIVE] is True and priv[attr.SIGN] is False
        assert bytes(priv[attr.ID]) == kid.encode()
    finally:
        store.close()
