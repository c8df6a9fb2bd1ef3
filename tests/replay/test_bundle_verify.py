"""`sessiontape verify BUNDLE`: passes untouched, fails naming the file for any flipped byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.keys import TrustStore
from agent.replay.bundle_verify import verify_bundle
from agent.replay.export import ExportResult, export_bundle
from tests.replay.helpers import Recorded, cli, copy_home, write_recipient_keys


@pytest.fixture(scope="module")
def home(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_home(recorded.home, tmp_path_factory.mktemp("bv") / "home")


@pytest.fixture(scope="module")
def bundle(
    home: Path, recorded: Recorded, tmp_path_factory: pytest.TempPathFactory
) -> ExportResult:
    return export_bundle(
        home,
        recorded.config,
        [recorded.session_id],
        tmp_path_factory.mktemp("b") / "bundle",
        reason="test",
    )


@pytest.fixture(scope="module")
def trust(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The firm's public keys, obtained independently of the bundle."""
    d = tmp_path_factory.mktemp("trust")
    for f in (home / "keys" / "trusted").glob("*.pub"):
        shutil.copy(f, d / f.name)
    return d


def test_untouched_bundle_passes_with_derived_files_rederived(
    bundle: ExportResult, home: Path, trust: Path, recorded: Recorded
) -> None:
    """Every check passes, and with the keys the JSONL/HAR/CSV are re-derived, not trusted."""
    r = cli(
        home,
        "verify",
        str(bundle.path),
        "--trust",
        str(trust),
        "--tsa-root",
        str(recorded.tsa_root),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK   derived" in r.stdout and "RFC 3161" in r.stdout


def test_bundle_keys_alone_are_not_trusted(bundle: ExportResult, tmp_path: Path) -> None:
    """With an empty trust store the manifest signature's key is untrusted: fail."""
    rep = verify_bundle(bundle.path, TrustStore())
    assert not rep.ok
    assert rep.first_failure is not None and "untrusted key" in rep.first_failure


@pytest.mark.parametrize(
    "rel",
    [
        "native/events.jsonl",
        "native/network.har",
        "native/actions.csv",
        "report.html",
        "manifest.json",
        "SEGMENT",
        "PROOF",
        "viewer/SID/data.js",
        "keys/trusted/PUB",
    ],
)
def test_flipped_byte_fails_naming_the_file(
    bundle: ExportResult, trust: Path, tmp_path: Path, rel: str
) -> None:
    """One flipped byte anywhere: verify fails and its first failure names that file."""
    copy = tmp_path / "b"
    shutil.copytree(bundle.path, copy)
    sid = bundle.sessions[0]
    if rel == "SEGMENT":
        rel = next((copy / "native" / "segments").rglob("*.stj")).relative_to(copy).as_posix()
    elif rel == "PROOF":
        rel = next((copy / "proofs").rglob("*.json")).relative_to(copy).as_posix()
    elif rel == "keys/trusted/PUB":
        rel = next((copy / "keys" / "trusted").glob("*.pub")).relative_to(copy).as_posix()
    rel = rel.replace("SID", sid)
    p = copy / rel
    data = bytearray(p.read_bytes())
    pos = len(data) // 2
    data[pos] ^= 0x01
    p.write_bytes(bytes(data))
    rep = verify_bundle(copy, TrustStore.from_dir(trust))
    assert not rep.ok
    assert rep.first_failure is not None and rel in rep.first_failure


def test_modified_event_is_named_by_seq_when_keys_are_available(
    bundle: ExportResult, home: Path, trust: Path, tmp_path: Path
) -> None:
    """With the data keys, a changed events.jsonl line is reported with its seq."""
    from agent.keys import Keyring

    copy = tmp_path / "b"
    shutil.copytree(bundle.path, copy)
    p = copy / "native" / "events.jsonl"
    lines = p.read_bytes().splitlines(keepends=True)
    lines[10] = lines[10].replace(b'"seq":10', b'"seq":10 ')
    p.write_bytes(b"".join(lines))
    rep = verify_bundle(copy, TrustStore.from_dir(trust), keyring=Keyring.load(home))
    derived = [c for c in rep.checks if c.name == "derived" and c.ok is False]
    assert derived and "seq 10" in derived[0].where


@pytest.fixture
def small_bundle(tmp_path: Path) -> tuple[Path, Path]:
    """(home, bundle dir): a two-segment journal session exported through the CLI."""
    from agent.keys import Keyring
    from agent.testing import FakeClock
    from tests.journals import write_session

    h = tmp_path / "jhome"
    Keyring.load_or_init(h)
    sid = write_session(h, clock=FakeClock(), segments=2).session_id
    out = tmp_path / "bundle"
    assert cli(h, "export", sid, "--out", str(out)).returncode == 0
    return h, out


@pytest.mark.parametrize(
    "member",
    [
        "native/events.jsonl",
        "native/network.har",
        "report.html",
        "sessiontape-bundle.json",
        "segment",
        "proof",
    ],
)
def test_listed_member_removed_fails_naming_it(
    small_bundle: tuple[Path, Path], member: str
) -> None:
    """A member the manifest lists is deleted: exit 1 naming it, never an internal error."""
    h, out = small_bundle
    if member in ("segment", "proof"):
        sub, ext = ("native/segments", "stj") if member == "segment" else ("proofs", "json")
        member = sorted(p for p in (out / sub).rglob(f"*.{ext}"))[0].relative_to(out).as_posix()
    (out / member).unlink()
    r = cli(h, "verify", str(out))
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == (
        f"bundle verification FAILED: files: listed in the manifest but missing ({member})"
    )


def test_recipient_key_without_data_keys_in_the_bundle(
    tmp_path: Path, small_bundle: tuple[Path, Path]
) -> None:
    """``--recipient-key`` and no ``keys/deks.json``: exit 2 when the bundle was exported
    without ``--recipient``; exit 1 naming it when the manifest lists it but it was removed."""
    h, out = small_bundle
    key, pub = write_recipient_keys(tmp_path)
    r = cli(h, "verify-bundle", str(out), "--recipient-key", str(key))
    assert r.returncode == 2
    assert "no keys/deks.json: the bundle was exported without --recipient" in r.stderr

    sid = next(p.name for p in (h / "journals").iterdir() if not p.name.startswith("audit-"))
    sealed = tmp_path / "sealed"
    assert cli(h, "export", sid, "--out", str(sealed), "--recipient", str(pub)).returncode == 0
    assert cli(h, "verify-bundle", str(sealed), "--recipient-key", str(key)).returncode == 0
    (sealed / "keys" / "deks.json").unlink()
    r = cli(h, "verify-bundle", str(sealed), "--recipient-key", str(key))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        "sessiontape: error: files: listed in the manifest but missing (keys/deks.json)"
    )


def test_escrow_init_keys_work_end_to_end_as_pem_or_raw_with_zip_or_folder(
    tmp_path: Path, small_bundle: tuple[Path, Path]
) -> None:
    """``keys escrow-init`` writes a public key PEM that ``export --recipient`` takes as it is;
    the printed raw base64 works too; ``verify-bundle --recipient-key`` opens the data keys
    of the .zip and of the folder, with the PEM or the raw private key, and re-derives."""
    import re

    from cryptography.hazmat.primitives import serialization

    h, _ = small_bundle
    r = cli(h, "keys", "escrow-init", "--officer", "Records Desk", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    priv = Path(re.findall(r"private key \(keep offline, 0600\): (\S+)", r.stdout)[0])
    pub_pem = Path(re.findall(r"public key \(PEM, for export --recipient\): (\S+)", r.stdout)[0])
    assert pub_pem.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    raw_pub = tmp_path / "recipient.b64"
    raw_pub.write_text(re.findall(r"^public key: (\S+)$", r.stdout, re.M)[0] + "\n")

    sid = next(p.name for p in (h / "journals").iterdir() if not p.name.startswith("audit-"))
    zipped, folder = tmp_path / "case.zip", tmp_path / "case"
    r = cli(h, "export", sid, "--out", str(zipped), "--recipient", str(pub_pem))
    assert r.returncode == 0, r.stderr
    r = cli(h, "export", sid, "--out", str(folder), "--recipient", str(raw_pub))
    assert r.returncode == 0, r.stderr

    from agent.mask.keyfile import load_private_key

    raw_priv = tmp_path / "me.hex"
    raw_priv.write_text(
        load_private_key(priv)
        .private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        .hex()
    )
    for bundle, key in ((zipped, priv), (folder, priv), (zipped, raw_priv)):
        r = cli(h, "verify-bundle", str(bundle), "--recipient-key", str(key))
        assert r.returncode == 0, (bundle, key, r.stdout + r.stderr)
        assert "OK   derived" in r.stdout and "NOT re-derived" not in r.stdout


def test_recipient_key_file_that_is_no_key_is_named_in_the_error(
    tmp_path: Path, small_bundle: tuple[Path, Path]
) -> None:
    """A --recipient file holding neither PEM nor a raw key: exit 2 naming it and the forms."""
    h, _ = small_bundle
    bad = tmp_path / "bad.pub"
    bad.write_text("hello\n")
    sid = next(p.name for p in (h / "journals").iterdir() if not p.name.startswith("audit-"))
    r = cli(h, "export", sid, "--out", str(tmp_path / "x"), "--recipient", str(bad))
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"sessiontape: error: {bad}: not an X25519 public key "
        "(need a PEM X25519 key, or the raw 32-byte key as base64 or hex)"
    )
