"""Export bundles: layout, manifest hashes, HAR 1.2, custody record, recipient-wrapped keys."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from agent.actor import os_actor
from agent.audit import audit_records
from agent.errors import UsageError
from agent.journal.reader import SegmentFile, decode_chunk
from agent.journal.store import find_session
from agent.replay.derive import CSV_FIELDS
from agent.replay.export import ExportResult, export_bundle, open_deks
from agent.seal.crypto import ChunkCipher
from tests.replay.helpers import Recorded, cli, copy_home


@pytest.fixture(scope="module")
def home(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_home(recorded.home, tmp_path_factory.mktemp("exp") / "home")


@pytest.fixture(scope="module")
def bundle(
    home: Path,
    recorded: Recorded,
    recipient: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> ExportResult:
    out = tmp_path_factory.mktemp("out") / "case-42"
    return export_bundle(
        home,
        recorded.config,
        [recorded.session_id],
        out,
        recipient=recipient[1],
        reason="FINRA request",
        matter="2026-042",
        tsa_roots=[recorded.tsa_root.read_bytes()],
        note="examiner1",
    )


def test_manifest_lists_sha256_of_every_file(bundle: ExportResult) -> None:
    """Every file except the manifest and its signature is listed with its hash and size."""
    root = bundle.path
    manifest = json.loads((root / "manifest.json").read_text())
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json", "manifest.sig"}
    for rel, meta in manifest["files"].items():
        data = (root / rel).read_bytes()
        assert meta == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert bundle.bundle_sha256 == hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
    for rel in (
        "report.html",
        "native/events.jsonl",
        "native/network.har",
        "native/actions.csv",
        "keys/deks.json",
        f"viewer/{bundle.sessions[0]}/viewer.html",
        f"viewer/{bundle.sessions[0]}/data.js",
    ):
        assert rel in manifest["files"]
    assert manifest["decryption"]["included"] is True


def test_segments_are_byte_identical_copies(bundle: ExportResult, home: Path) -> None:
    """native/segments holds the sealed files exactly as stored."""
    info = find_session(home, bundle.sessions[0])
    for s in info.segments:
        copy = bundle.path / "native" / "segments" / info.session_id / s.path.name
        assert copy.read_bytes() == s.path.read_bytes()


def test_har_has_the_required_har_1_2_fields(bundle: ExportResult) -> None:
    """log.version 1.2, creator, entries with request/response/cache/timings as the spec needs."""
    har = json.loads((bundle.path / "native" / "network.har").read_text())
    log = har["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "sessiontape"
    assert isinstance(log["pages"], list) and log["entries"]
    for e in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(e)
        rq, rs = e["request"], e["response"]
        assert {
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        } <= set(rq)
        assert {
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        } <= set(rs)
        assert {"size", "mimeType"} <= set(rs["content"])
        assert {"send", "wait", "receive"} <= set(e["timings"])
        assert e["startedDateTime"].endswith("Z") and e["time"] >= 0
    assert any(
        e["request"]["url"].endswith("/api/orders") and e["request"]["method"] == "POST"
        for e in log["entries"]
    )


def test_report_is_self_contained_and_says_screenshots_were_not_enabled(
    bundle: ExportResult,
) -> None:
    """report.html has no external resource and states the screenshot setting."""
    html = (bundle.path / "report.html").read_text()
    assert "Screenshots were not enabled" in html
    head = html.split("</head>", 1)[0]
    assert "http://" not in head and "https://" not in head and "<link" not in html
    assert "default-src 'none'" in head  # the CSP forbids loading anything from outside
    assert "<script" not in html and 'src="http' not in html and "src='http" not in html
    assert "FINRA request" in html and "2026-042" in html and "verified" in html


def test_export_writes_one_custody_record(bundle: ExportResult, home: Path) -> None:
    """Exactly one audit.export record, with requester, reason, matter, objects and hash."""
    recs = [a for a in audit_records(home, "audit.export")]
    assert len(recs) == 1
    r = recs[0]
    me = os_actor()  # the OS account; the note only beside it
    assert (r["requester"], r["requester_uid"], r["note"]) == (me.name, me.uid, "examiner1")
    assert (r["actor"], r["actor_uid"]) == (me.name, me.uid) and r["reason"] == "FINRA request"
    assert r["matter"] == "2026-042" and r["bundle_sha256"] == bundle.bundle_sha256
    assert r["sessions"] == bundle.sessions and r["objects"]


def test_recipient_wrapped_deks_decrypt_the_exported_segments(
    bundle: ExportResult, recipient: tuple[Path, Path]
) -> None:
    """The recipient's private key opens keys/deks.json and the DEKs decrypt every chunk."""
    deks = open_deks(bundle.path, recipient[0])
    segs = sorted((bundle.path / "native" / "segments").rglob("*.stj"))
    assert set(deks) == {SegmentFile(p).segment_id for p in segs}
    n = 0
    for p in segs:
        seg = SegmentFile(p)
        for row in seg.iter_chunks():
            n += len(decode_chunk(seg, row, ChunkCipher(deks[seg.segment_id])))
        seg.close()
    lines = (bundle.path / "native" / "events.jsonl").read_bytes().count(b"\n")
    assert n == lines > 100


def test_existing_target_is_refused_without_force(
    bundle: ExportResult, home: Path, recorded: Recorded
) -> None:
    """An existing directory is not touched unless --force."""
    before = (bundle.path / "manifest.json").read_bytes()
    with pytest.raises(UsageError, match="exists"):
        export_bundle(home, recorded.config, [recorded.session_id], bundle.path)
    assert (bundle.path / "manifest.json").read_bytes() == before
    r = cli(home, "export", recorded.session_id, "--out", str(bundle.path))
    assert r.returncode == 2 and "use --force" in r.stderr


def test_zip_export_holds_the_same_tree_and_verifies(
    home: Path, recorded: Recorded, tmp_path: Path
) -> None:
    """FILE.zip: same layout; `sessiontape verify FILE.zip` passes."""
    out = tmp_path / "case.zip"
    res = export_bundle(home, recorded.config, [recorded.session_id], out, reason="r")
    assert res.path == out and out.is_file()
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
    assert set(manifest["files"]) | {"manifest.json", "manifest.sig"} == names
    assert manifest["decryption"]["included"] is False
    v = cli(home, "verify", str(out), "--tsa-root", str(recorded.tsa_root))
    assert v.returncode == 0, v.stdout + v.stderr
    assert "bundle verified" in v.stdout


def test_query_selects_sessions_and_proves_each_hit(
    home: Path, recorded: Recorded, tmp_path: Path
) -> None:
    """--query exports the sessions with hits, with an inclusion proof per hit."""
    from agent.index.indexer import rebuild_from_dir

    rebuild_from_dir(home, recorded.config)
    res = export_bundle(home, recorded.config, [], tmp_path / "q", query="url:/api/orders")
    assert res.sessions == [recorded.session_id]
    hits = json.loads((res.path / "proofs" / "query_hits.json").read_text())["hits"]
    assert hits and all(h["proof_status"] == "verified" and h["proof"]["included"] for h in hits)


@pytest.mark.browser
def test_offline_viewer_replays_from_file_url(bundle: ExportResult) -> None:
    """viewer/<session>/viewer.html works from file:// with no server (data.js holds events)."""
    from playwright.sync_api import sync_playwright

    from tests.replay.helpers import CHROMIUM

    sid = bundle.sessions[0]
    events = [
        json.loads(line)
        for line in (bundle.path / "native" / "events.jsonl").read_text().splitlines()
    ]
    page_id = next(e["page"] for e in events if e["kind"] == "rrweb.meta")
    typed = [
        e
        for e in events
        if e["kind"] == "rrweb.input"
        and e.get("page") == page_id
        and e.get("frame") == page_id
        and e["payload"]["data"]["text"].startswith("tok_")
    ]
    target = typed[2]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        pg = b.new_page(viewport={"width": 1400, "height": 900})
        pg.goto(
            (bundle.path / "viewer" / sid / "viewer.html").as_uri() + f"#seq={target['seq']}",
            wait_until="domcontentloaded",
        )
        pg.wait_for_selector(
            f"body[data-state=ready][data-seq='{target['seq']}']", state="attached", timeout=60_000
        )
        node = target["payload"]["data"]["id"]
        assert node is not None
        value = pg.evaluate(
            "document.querySelector('#replay iframe').contentDocument"
            ".querySelector('#order-account').value"  # the first tokenized field typed
        )
        assert value == target["payload"]["data"]["text"]
        assert "verified" in pg.inner_text("#proof-status")
        b.close()


def test_report_lists_the_actions_in_words_in_chromium(
    bundle: ExportResult, browser: Browser
) -> None:
    """Opened in Chromium, the report's action rows read as what the trader did - never as
    'click on node <number>' - and the keystrokes are not rows of their own."""
    page = browser.new_page()
    try:
        page.goto((bundle.path / "report.html").as_uri())
        text = page.inner_text("body")
    finally:
        page.close()
    assert "clicked button 'Send (REST)' in 'Order ticket'" in text
    assert "submitted form 'Client lookup'" in text
    assert "answered dialog 'Cancel all open orders?' with OK" in text
    assert not re.search(r"node \d", text)
    assert not [ln for ln in text.splitlines() if re.match(r"\s*(\S+\s+)?key \w", ln)]


def test_actions_csv_has_one_row_per_action_with_caused_requests(bundle: ExportResult) -> None:
    """native/actions.csv: the action words, the target, the masked mode and the requests."""
    text = (bundle.path / "native" / "actions.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == CSV_FIELDS
    (rest,) = [r for r in rows if r["text"] == "clicked button 'Send (REST)' in 'Order ticket'"]
    assert rest["verb"] == "click" and rest["target_role"] == "button"
    assert re.search(r"POST \S+/api/orders → 200", rest["requests"])
    pins = [r for r in rows if r["target_name"] == "Supervisor PIN"]
    assert [(p["verb"], p["value"], p["masked"]) for p in pins] == [
        ("type", "[redacted]", "redact")
    ]


def test_a_held_session_exports_its_holds_in_the_manifest_and_the_report(
    recorded: Recorded, tmp_path: Path, browser: Browser
) -> None:
    """A matter placed with `hold add` is in the signed manifest entry and in the report's
    retention section; a session without one says no hold was in force."""
    home = copy_home(recorded.home, tmp_path / "home")
    r = cli(home, "hold", "add", "--matter", "SEC-2026-14", "--session", recorded.session_id)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "held"
    r = cli(home, "export", recorded.session_id, "--out", str(out), "--matter", "SEC-2026-14")
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads((out / "manifest.json").read_text())["sessions"]
    ((hold),) = entry["holds"]
    assert hold["matter"] == "SEC-2026-14" and hold["by"] == os_actor().name
    page = browser.new_page()
    try:
        page.goto((out / "report.html").as_uri())
        text = page.inner_text("body")
    finally:
        page.close()
    assert "Legal holds in force when exported: SEC-2026-14 (placed " in text
    r = cli(home, "hold", "release", "--matter", "SEC-2026-14", "--session", recorded.session_id)
    assert r.returncode == 0, r.stderr
    again = tmp_path / "released"
    assert cli(home, "export", recorded.session_id, "--out", str(again)).returncode == 0
    (entry,) = json.loads((again / "manifest.json").read_text())["sessions"]
    assert entry["holds"] == []
    assert "No legal hold was in force when it was exported." in (again / "report.html").read_text()
    assert cli(home, "verify-bundle", str(out)).returncode == 0
