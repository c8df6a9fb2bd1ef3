"""`sessiontape verify BUNDLE`: passes untouched, fails naming the file for any flipped byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.keys import TrustStore
from agent.replay.bundle_verify import verify_bundle
from agent.replay.export import ExportResult, export_bundle
from tests.replay.helpers import Recorded, cli, copy_home


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
