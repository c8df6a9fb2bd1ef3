"""Firm keys sealed under an AWS KMS key (moto's KMS in server mode): `keys firm-init --backend
kms` stores only the KMS ciphertext of the firm key; opening a segment calls KMS Decrypt; a
denial (another KMS key, a sealed key under the wrong encryption context) is one line naming
the KMS key and the firm key, and nothing is lost: the right key still opens the segment.

moto 5.2 checks the KMS key a ciphertext belongs to and the encryption context on Decrypt,
but not the key state: after ``DisableKey`` its Decrypt still succeeds, so the disabled-key
denial is not tested here (real KMS answers ``DisabledException``, which the store reports the
same way as the denials below)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import KeyMaterialError
from agent.keystore.config import FirmKeysConfig
from tests.cli.clirun import run_main
from tests.keys.firmhome import (
    configure_recipients,
    key_settings_restored,
    keyring,
    new_home,
    read_ns,
    record,
)
from tests.ship.conftest import aws_env, moto_endpoint

__all__ = ["key_settings_restored", "moto_endpoint"]
pytestmark = pytest.mark.usefixtures("key_settings_restored")

_aliases = itertools.count()


@pytest.fixture
def kms_env(moto_endpoint: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Dummy credentials and the moto endpoint for KMS, exported the standard boto3 way."""
    url = f"http://{moto_endpoint[0]}:{moto_endpoint[1]}"
    for k, v in aws_env(url).items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", url)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield url


def _kms_key(alias: bool = True) -> str:
    """A new symmetric KMS key: its alias (or its key id)."""
    import boto3

    kms = boto3.client("kms")
    key_id = str(kms.create_key(Description="sessiontape firm keys")["KeyMetadata"]["KeyId"])
    if not alias:
        return key_id
    name = f"alias/sessiontape-firm-{next(_aliases)}"
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    return name


def _kms_home(path: Path, kms_key_id: str) -> Path:
    home = new_home(path)
    (home / "sessiontape.toml").write_text(
        f'[seal.firm_keys]\nbackend = "kms"\nkms_key_id = "{kms_key_id}"\n'
    )
    return home


def _firm_init(capsys: pytest.CaptureFixture[str], home: Path, out: Path) -> str:
    code, text, err = run_main(
        capsys, "--home", str(home), "keys", "firm-init", "--backend", "kms", "--out", str(out)
    )
    assert code == 0, err
    return text.split("created firm key ", 1)[1].split()[0]


def test_kms_sealed_firm_key_opens_a_segment_and_a_denial_names_both_keys(
    tmp_path: Path, kms_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The firm home holds only the KMS ciphertext; it decrypts the segment; pointed at
    another KMS key it gets one clear denial line, and the verify CLI exits 2 with it."""
    alias = _kms_key()
    firm = _kms_home(tmp_path / "firm", alias)
    kid = _firm_init(capsys, firm, tmp_path / "firm-kms.pem")
    sealed = firm / "keys" / "firm" / f"{kid.split(':')[1]}.kms"
    assert sealed.stat().st_mode & 0o777 == 0o600
    name = kid.split(":")[1]  # the KMS ciphertext and the public key; no private key file
    assert sorted(p.name for p in sealed.parent.iterdir()) == [f"{name}.kms", f"{name}.pub.pem"]
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, tmp_path / "firm-kms.pem")
    (seg,) = record(ws)
    shutil.copytree(ws / "journals", firm / "journals")
    copy = firm / "journals" / seg.parent.name / seg.name
    assert read_ns(copy, keyring(firm, FirmKeysConfig(backend="kms", kms_key_id=alias))) == (
        list(range(10))
    )

    other = _kms_key(alias=False)
    with pytest.raises(KeyMaterialError) as info:
        read_ns(copy, keyring(firm, FirmKeysConfig(backend="kms", kms_key_id=other)))
    assert info.value.message.startswith(
        f"KMS key {other}: decrypt of firm key {kid} refused: AccessDeniedException"
    )
    (firm / "sessiontape.toml").write_text(
        f'[seal.firm_keys]\nbackend = "kms"\nkms_key_id = "{other}"\n'
    )
    pubs = tmp_path / "pubs"
    assert run_main(capsys, "--home", str(ws), "keys", "export-public", str(pubs))[0] == 0
    for pub in pubs.glob("*.pub"):
        assert run_main(capsys, "--home", str(firm), "keys", "trust", str(pub))[0] == 0
    code, _, err = run_main(capsys, "--home", str(firm), "verify", "--decrypt")
    assert code == 2
    assert f"decrypt: KMS key {other}: decrypt of firm key {kid} refused" in err
    assert "format" not in err
    # nothing lost: the right KMS key still opens it
    assert read_ns(copy, keyring(firm, FirmKeysConfig(backend="kms", kms_key_id=alias)))


def test_sealed_key_under_another_firm_key_id_is_refused_by_its_context(
    tmp_path: Path, kms_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The encryption context names the firm key: a sealed key copied to another firm key's
    name is refused by KMS (named), never used as that key."""
    alias = _kms_key()
    firm = _kms_home(tmp_path / "firm", alias)
    kid_a = _firm_init(capsys, firm, tmp_path / "a.pem")
    kid_b = _firm_init(capsys, firm, tmp_path / "b.pem")
    ws = new_home(tmp_path / "ws")
    configure_recipients(ws, tmp_path / "b.pem")
    (seg,) = record(ws)
    d = firm / "keys" / "firm"
    (d / f"{kid_b.split(':')[1]}.kms").write_bytes((d / f"{kid_a.split(':')[1]}.kms").read_bytes())
    with pytest.raises(KeyMaterialError) as info:
        read_ns(seg, keyring(firm, FirmKeysConfig(backend="kms", kms_key_id=alias)))
    assert info.value.message.startswith(
        f"KMS key {alias}: decrypt of firm key {kid_b} refused: InvalidCiphertextException"
    )
