"""The PKCS#11 key store against a real SoftHSM2 token: keys made in the token, segments
signed and data keys wrapped there, verified by the normal verifier; keys non-extractable;
misconfiguration is one line, exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agent.config import load_config
from agent.errors import KeyMaterialError
from agent.keys import Keyring
from agent.keystore.config import KeysConfig
from agent.seal.segment_file import SegmentFile
from agent.seal.verify import verify_paths
from agent.testing import FakeClock
from tests.cli.clirun import run
from tests.journals import write_session
from tests.keys.softhsm import Token, token, write_config

__all__ = ["token"]


def _settings(tok: Token, **overrides: str) -> KeysConfig:
    return load_config(
        write_config(tok.config.with_name("alt.toml"), tok, **overrides), env={}
    ).seal.keys


def test_keys_init_creates_both_keys_in_the_token_and_none_on_disk(
    tmp_path: Path, token: Token
) -> None:
    """`keys init` makes the signing key and KEK in the token, trusts the public key, writes
    no private key file; `keys list` names the backend and the ids."""
    home = tmp_path / "home"
    r = run("keys", "init", home=home, env=token.env)
    assert r.code == 0, r.err
    assert r.out.startswith("created: signing key ed25519:")
    assert f"backend: pkcs11 (token {token.label!r}, {token.module})" in r.out
    kid = r.out.split("signing key ", 1)[1].split()[0]
    assert list((home / "keys").rglob("*.pem")) == [] and list((home / "keys").rglob("*.key")) == []
    assert [p.stem for p in (home / "keys" / "trusted").glob("*.pub")] == [kid.split(":")[1]]
    r = run("keys", "list", "--json", home=home, env=token.env)
    data = json.loads(r.out)
    assert data["backend"] == f"pkcs11 (token {token.label!r}, {token.module})"
    assert data["signing"] == [kid] and data["trusted"] == [kid]
    assert len(data["kek"]) == 1 and data["kek"][0].startswith("kek:")
    again = run("keys", "init", home=home, env=token.env)
    assert again.code == 0 and again.out.startswith(f"exists: signing key {kid}")


def test_segment_signed_in_the_token_verifies_with_the_normal_verifier(
    tmp_path: Path, token: Token
) -> None:
    """A session written through the token verifies and decrypts via the CLI, and verifies
    from the exported public key alone, without the token."""
    home = tmp_path / "home"
    cfg = load_config(token.config, env={})
    j = write_session(home, cfg, FakeClock())
    seg = SegmentFile(j.segments[0])
    try:
        signed_by = str(seg.genesis["key_id"])
        kek_id = str(seg.genesis["kek_id"])
    finally:
        seg.close()
    kr = Keyring.load(home, cfg.seal.keys)
    assert signed_by == kr.signer().key_id and kek_id == kr.current_kek_id()
    r = run("verify", "--decrypt", j.session_id, home=home, env=token.env)
    assert r.code == 0, r.out + r.err
    trust = tmp_path / "trust"
    assert run("keys", "export-public", str(trust), home=home, env=token.env).code == 0
    r = run("verify", "--trust", str(trust), str(home / "journals" / j.session_id))
    assert r.code == 0, r.out + r.err


def test_private_key_and_kek_are_not_extractable(tmp_path: Path, token: Token) -> None:
    """CKA_EXTRACTABLE false, CKA_SENSITIVE true: reading CKA_VALUE fails, and the KEK
    cannot wrap the signing key out of the token either."""
    import pkcs11
    from pkcs11 import Attribute, Mechanism, ObjectClass

    settings = load_config(token.config, env={}).seal.keys
    Keyring.load_or_init(tmp_path / "home", settings)
    lib = pkcs11.lib(token.module)
    # Logged in already: PKCS#11 login is per process, and the key store above logged in.
    with lib.get_token(token_label=token.label).open() as s:
        priv = s.get_key(object_class=ObjectClass.PRIVATE_KEY, label=settings.signing_key_label)
        kek: Any = s.get_key(object_class=ObjectClass.SECRET_KEY, label=settings.kek_label)
        for obj in (priv, kek):
            assert obj[Attribute.EXTRACTABLE] is False and obj[Attribute.SENSITIVE] is True
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                obj[Attribute.VALUE]
        with pytest.raises(pkcs11.exceptions.KeyUnextractable):
            kek.wrap_key(priv, mechanism=Mechanism.AES_KEY_WRAP_PAD)


def test_rotation_keeps_old_segments_readable(tmp_path: Path, token: Token) -> None:
    """After rotating both keys in the token, old and new sessions verify and decrypt."""
    home = tmp_path / "home"
    cfg = load_config(token.config, env={})
    old = write_session(home, cfg, FakeClock())
    kr = Keyring.load(home, cfg.seal.keys)
    before = kr.list_keys()
    kr.rotate_signing()
    kr.rotate_kek()
    clock = FakeClock()
    clock.advance_s(3600)
    new = write_session(home, cfg, clock)
    after = kr.list_keys()
    assert all(len(after[k]) == len(before[k]) + 1 for k in ("signing", "kek", "trusted"))
    rep = verify_paths([old.dir, new.dir], kr.trust(), keyring=kr, decrypt=True)
    assert rep.ok, rep


def test_wrong_pin_is_one_line_exit_2_and_nothing_falls_back_to_files(
    tmp_path: Path, token: Token
) -> None:
    home = tmp_path / "home"
    token.pin_file.write_text("0000\n")
    r = run("keys", "init", home=home, env=token.env)
    assert r.code == 2
    assert r.err == (
        f"sessiontape: error: PKCS#11 token {token.label!r}: wrong PIN (from {token.pin_file})\n"
    )
    assert not (home / "keys" / "signing").exists() and not (home / "keys" / "kek").exists()


def test_missing_module_and_group_readable_pin_file_are_one_line_exit_2(
    tmp_path: Path, token: Token
) -> None:
    home = tmp_path / "home"
    write_config(token.config, token, pkcs11_module="/nonexistent/libnope.so")
    r = run("keys", "init", home=home, env=token.env)
    assert (r.code, r.err) == (
        2,
        "sessiontape: error: /nonexistent/libnope.so: cannot load the PKCS#11 library\n",
    )
    write_config(token.config, token)
    token.pin_file.chmod(0o640)
    r = run("keys", "init", home=home, env=token.env)
    assert (r.code, r.err) == (
        2,
        f"sessiontape: error: {token.pin_file}: PIN file has mode 0640; other users can read "
        "it (need 0600)\n",
    )


def test_a_label_naming_no_key_is_a_clear_error(tmp_path: Path, token: Token) -> None:
    """The token is there but holds no key under the configured label: one line naming it."""
    Keyring.load_or_init(tmp_path / "home", load_config(token.config, env={}).seal.keys)
    kr = Keyring.load(tmp_path / "home", _settings(token, signing_key_label="no-such-key"))
    with pytest.raises(KeyMaterialError) as info:
        kr.signer()
    assert info.value.message == (
        f"PKCS#11 token {token.label!r}: no signing key labelled 'no-such-key' "
        "(run `sessiontape keys init`)"
    )
    with pytest.raises(KeyMaterialError, match=r"decryption key kek:0000000000000000 is not in"):
        kr.unwrap_dek("kek:0000000000000000", b"\0" * 40, where="seg")


def test_a_copy_of_the_state_dir_without_the_token_decrypts_nothing(
    tmp_path: Path, token: Token
) -> None:
    """The attacker copies the whole home (a backup, a stolen disk): it verifies, since the
    public key is there, but no file in it is a key, so no segment decrypts."""
    home = tmp_path / "home"
    cfg = load_config(token.config, env={})
    j = write_session(home, cfg, FakeClock())
    stolen = tmp_path / "stolen"
    shutil.copytree(home, stolen)
    seg = SegmentFile(next((stolen / "journals" / j.session_id).glob("*.stj")))
    try:
        kek_id = str(seg.genesis["kek_id"])
    finally:
        seg.close()
    r = run("verify", "--decrypt", j.session_id, home=stolen)  # the file backend: no token
    assert r.code == 2  # not readable here is a key problem, not damage
    assert (
        f".stj: decrypt: cannot decrypt (key {kek_id} unavailable; "
        "no firm key wraps in this segment) (every integrity check passed;" in r.err
    )
    assert r.err.startswith("not decryptable here: ")
    assert run("verify", j.session_id, home=stolen).code == 0
    assert [p for p in stolen.rglob("*") if p.suffix in (".pem", ".key")] == []
