"""Attack: an export bundle whose pages say something the sealed segments do not (a rogue
exporter holding the signing key edits an order quantity in the offline viewer's data.js,
or a status in report.html, and re-signs the manifest so every hash matches).

A real export of the real demo recording; the recipient verifies it with the real CLI from
a home of his own (no keys of the recorder).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from agent.keys import Keyring
from agent.replay.export import ExportResult, export_bundle
from agent.replay.export_files import sha256_file
from agent.replay.manifest import write_signed_manifest
from tests.replay.helpers import Recorded, cli, copy_home


@pytest.fixture(scope="module")
def home(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_home(recorded.home, tmp_path_factory.mktemp("views") / "home")


@pytest.fixture(scope="module")
def bundle(
    home: Path,
    recorded: Recorded,
    recipient: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> ExportResult:
    return export_bundle(
        home,
        recorded.config,
        [recorded.session_id],
        tmp_path_factory.mktemp("out") / "case",
        recipient=recipient[1],
        reason="attack test",
        tsa_roots=[recorded.tsa_root.read_bytes()],
    )


@pytest.fixture(scope="module")
def examiner(home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a home of the examiner's own, the firm's public keys obtained out of band)."""
    ex = tmp_path_factory.mktemp("examiner") / "home"
    Keyring.load_or_init(ex)
    trust = tmp_path_factory.mktemp("trust")
    for f in (home / "keys" / "trusted").glob("*.pub"):
        shutil.copy(f, trust / f.name)
    return ex, trust


def _forge(
    bundle: Path, home: Path, rel: str, edit: re.Pattern[bytes], to: bytes, out: Path
) -> str:
    """A copy of ``bundle`` with the first match of ``edit`` in ``rel`` replaced by ``to``,
    its manifest hash updated and re-signed with the recorder's key; returns what changed."""
    shutil.copytree(bundle, out)
    p = out / rel
    data = p.read_bytes()
    m = edit.search(data)
    assert m, f"nothing to edit in {rel}"
    p.write_bytes(data[: m.start(1)] + to + data[m.end(1) :])
    manifest = json.loads((out / "manifest.json").read_bytes())
    manifest["files"][rel] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    write_signed_manifest(out, manifest, Keyring.load(home).signer())
    return m.group(1).decode()


def _verify(examiner: tuple[Path, Path], bundle: Path, *extra: str) -> tuple[int, str, str]:
    ex, trust = examiner
    r = cli(ex, "verify-bundle", str(bundle), "--trust", str(trust), *extra)
    return r.returncode, r.stdout, r.stderr


def test_untouched_bundle_views_are_rederived(
    bundle: ExportResult, examiner: tuple[Path, Path], recipient: tuple[Path, Path]
) -> None:
    """With the recipient key, data.js and report.html are re-derived and match."""
    code, out, err = _verify(examiner, bundle.path, "--recipient-key", str(recipient[0]))
    assert code == 0, out + err
    assert "OK   views: 1 data.js and report.html re-derived: they match" in out


def test_changed_order_quantity_in_data_js_fails_naming_file_and_event(
    bundle: ExportResult,
    home: Path,
    examiner: tuple[Path, Path],
    recipient: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """An order's quantity changed in the offline viewer's data (manifest re-signed): with
    the key, exit 1 naming data.js and the event's seq; without it, exit 0 but the summary
    says data.js was not re-derived."""
    sid = bundle.sessions[0]
    rel = f"viewer/{sid}/data.js"
    was = _forge(
        bundle.path, home, rel, re.compile(rb'quantity\\+":\\*"?(\d)'), b"9", tmp_path / "f"
    )
    assert was != "9"
    code, out, err = _verify(examiner, tmp_path / "f", "--recipient-key", str(recipient[0]))
    assert code == 1, out
    assert "OK   files" in out  # the re-signed manifest matches every file
    m = re.search(
        r"bundle verification FAILED: views: differs from what the sealed segments give "
        rf"\({re.escape(rel)} at events\[\d+\]\.payload\.(\S+) \(seq (\d+)\)\)",
        err,
    )
    assert m, err
    code, out, err = _verify(examiner, tmp_path / "f")
    assert code == 0, out + err
    assert out.rstrip().endswith(
        f"NOT re-derived without the data keys (checked by manifest hash only): {rel}, report.html"
    )


def test_changed_status_in_report_fails_naming_the_report(
    bundle: ExportResult,
    home: Path,
    examiner: tuple[Path, Path],
    recipient: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """A response status changed in report.html (manifest re-signed): exit 1 naming
    report.html and showing both versions of the changed bytes."""
    _forge(bundle.path, home, "report.html", re.compile(rb"<td>(2)00</td>"), b"5", tmp_path / "f")
    code, out, err = _verify(examiner, tmp_path / "f", "--recipient-key", str(recipient[0]))
    assert code == 1, out
    assert (
        "bundle verification FAILED: views: differs from what the sealed segments give "
        "(report.html at byte " in err
    )
    assert "<td>500</td>" in err and "<td>200</td>" in err
    code, out, err = _verify(examiner, tmp_path / "f")
    assert code == 0 and "report.html" in out.splitlines()[-1]


def test_a_picture_recorded_as_a_placeholder_in_the_manifest_fails_views(
    bundle: ExportResult,
    home: Path,
    examiner: tuple[Path, Path],
    recipient: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """The manifest's record of one drawn picture is changed to 'could not be rendered' and
    re-signed (report.html untouched): the report re-derived from that record differs."""
    out = tmp_path / "f"
    shutil.copytree(bundle.path, out)
    manifest = json.loads((out / "manifest.json").read_bytes())
    outcomes = next(iter(manifest["report"]["thumbnails"].values()))
    seq = next(k for k, v in outcomes.items() if "file" in v)
    outcomes[seq] = {"error": "could not be rendered (forged)"}
    write_signed_manifest(out, manifest, Keyring.load(home).signer())
    code, _, err = _verify(examiner, out, "--recipient-key", str(recipient[0]))
    assert code == 1
    assert "views: differs from what the sealed segments give (report.html at byte " in err
