"""report.html and report.pdf of the demo session, exported by the real CLI and read the way an
examiner reads them: opened from ``file://`` in Chromium (assertions on the rendered text and
on the images the page loaded) and printed to PDF (its text read with ``pdftotext``)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from agent.demo_app import DEMO_SECRETS
from agent.replay.export import export_bundle
from agent.replay.render import LOCAL_ORIGIN
from tests.replay.helpers import Recorded, cli, copy_home

NODE_NUMBER = re.compile(r"node \d+")
TOKEN = r"tok_[0-9a-f]{16}"


@pytest.fixture(scope="module")
def home(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_home(recorded.home, tmp_path_factory.mktemp("rep") / "home")


@pytest.fixture(scope="module")
def exported(home: Path, recorded: Recorded, recipient: tuple[Path, Path]) -> tuple[Path, str]:
    """(bundle directory, what the export printed), with --recipient."""
    out = home.parent / "case-42"
    r = cli(
        home,
        "export",
        recorded.session_id,
        "--out",
        str(out),
        "--recipient",
        str(recipient[1]),
        "--reason",
        "FINRA request",
        "--matter",
        "2026-042",
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return out, r.stdout


@pytest.fixture(scope="module")
def page(browser: Browser, exported: tuple[Path, str]) -> Page:
    """report.html opened from file:// (every image settled)."""
    p = browser.new_page()
    p.goto((exported[0] / "report.html").as_uri())
    p.wait_for_function("Array.from(document.images).every(i => i.complete)")
    return p


def _text(page: Page) -> str:
    return str(page.evaluate("document.body.innerText"))


def test_report_opens_with_a_summary_of_who_when_sites_orders_downloads_and_integrity(
    page: Page,
) -> None:
    """The first paragraph names the user, workstation, UTC times, sites, counts and verdict."""
    summary = page.inner_text("#summary")
    assert re.search(r"from \d\d:\d\d:\d\d\.\d{3} to \d\d:\d\d:\d\d\.\d{3} UTC", summary)
    assert "user demo-trader on workstation" in summary
    assert re.search(r"used http://127\.0\.0\.1:\d+", summary)
    assert re.search(r"The recording shows \d+ actions, 3 orders \(", summary)
    assert "1 download (report.csv)" in summary
    assert summary.endswith("Integrity: verified.")
    first = page.evaluate("document.querySelector('body > p').id")
    assert first == "summary"


def test_each_order_is_a_row_in_words_with_its_fields_and_a_thumbnail_that_loaded(
    page: Page,
) -> None:
    """Every order is its own narrative row naming side, quantity, symbol and price, with a
    picture of the page drawn from the recording (the image decoded: naturalWidth > 0)."""
    rows = page.locator("tr[data-verb=order]")
    assert rows.count() == 3
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    for t in texts:
        assert all(label in t for label in ("side ", "quantity ", "symbol ", "price "))
        assert re.search(rf"account {TOKEN}", t)
    # Order fields are recorded in clear on this branch (the order bodies are not masked).
    assert any("side BUY, quantity 100, symbol MSFT, price 412.50" in t for t in texts)
    assert any("side SELL, quantity 250, symbol AAPL, price 187.25" in t for t in texts)
    widths = page.eval_on_selector_all(
        "tr[data-verb=order] img.thumb", "imgs => imgs.map(i => i.naturalWidth)"
    )
    assert len(widths) == 3 and all(w > 0 for w in widths), widths


def test_client_lookup_shows_the_ssn_as_a_token_never_the_number(
    page: Page, exported: tuple[Path, str]
) -> None:
    """The lookup's request is told with the fields it sent; the SSN is its token."""
    text = _text(page)
    lookup = next(ln for ln in text.splitlines() if "POST /api/lookup" in ln)
    assert re.search(rf"ssn '{TOKEN}'", lookup), lookup
    assert "pin '[redacted]'" in lookup
    assert DEMO_SECRETS["ssn"] not in text
    assert DEMO_SECRETS["ssn"].encode() not in (exported[0] / "report.html").read_bytes()


def test_dialog_and_download_are_told_in_words(page: Page) -> None:
    """The confirm dialog with its answer and the download with its name and size."""
    text = _text(page)
    assert "answered dialog 'Cancel all open orders?' with OK" in text
    assert re.search(r"downloaded report\.csv \(\d+ bytes, sha256 [0-9a-f]{16}…\)", text)


def test_no_node_number_anywhere_in_the_report_or_its_pdf(
    page: Page, exported: tuple[Path, str]
) -> None:
    """Nothing the examiner reads says ``node <number>``."""
    assert not NODE_NUMBER.search(_text(page))
    assert not NODE_NUMBER.search(_pdf_text(exported[0]))


def _pdf_text(bundle: Path) -> str:
    return subprocess.run(
        # -raw: the content stream's order, which is the document's; the default "reading
        # order" regroups table cells by position, so a row whose layout changed (a thumbnail
        # that could not be drawn is a narrower box) came out with its cells interleaved
        ["pdftotext", "-raw", str(bundle / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_pdf_is_the_report_printed_and_listed_in_the_manifest(exported: tuple[Path, str]) -> None:
    """report.pdf is a PDF holding the summary and the orders, and the manifest lists it
    and every thumbnail by hash, with the thumbnail outcome of each moment."""
    bundle = exported[0]
    assert (bundle / "report.pdf").read_bytes().startswith(b"%PDF-")
    text = " ".join(_pdf_text(bundle).split())
    assert "sessiontape evidence report" in text and "user demo-trader on workstation" in text
    at = max(0, text.find("side SELL") - 200)
    assert "side SELL, quantity 250, symbol AAPL, price 187.25" in text, (
        f"the REST order is not in the PDF text; near it: {text[at : at + 600]}"
    )

    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["v"] == 3 and "report.pdf" in manifest["files"]
    assert manifest["report"]["pdf"] == {"file": "report.pdf", "error": None}
    outcomes = next(iter(manifest["report"]["thumbnails"].values()))
    files = [o["file"] for o in outcomes.values() if "file" in o]
    assert files and all(f in manifest["files"] for f in files)


def test_export_says_what_is_readable_by_whom(
    exported: tuple[Path, str], home: Path, recorded: Recorded
) -> None:
    """With --recipient: events in clear for anyone with the bundle, segment keys sealed to
    the recipient; without: segments readable only with the workstation's or firm key."""
    out = exported[1]
    assert "data keys NOT included" not in out and "this home's keys" not in out
    assert "report.html, report.pdf and each viewer's data.js hold the session's events" in out
    assert "anyone with this bundle reads them" in out
    assert re.search(r"data keys are in keys/deks\.json, sealed to the recipient key \S+", out)
    r = cli(home, "export", recorded.session_id, "--out", str(home.parent / "plain"), timeout=300)
    assert r.returncode == 0, r.stderr
    assert "anyone with this bundle reads them" in r.stdout
    assert (
        "data keys are NOT included (exported without --recipient): the segments are readable "
        "only with the recording workstation's key or the firm key" in r.stdout
    )


def test_verify_bundle_passes_with_and_without_the_data_keys(
    exported: tuple[Path, str], home: Path, recipient: tuple[Path, Path], tmp_path: Path
) -> None:
    """With the recipient's key report.html is re-derived and matches; without it the report
    and data.js are checked by hash (thumbnails and the PDF always by hash)."""
    bundle, trust = exported[0], home / "keys" / "trusted"
    stranger = tmp_path / "examiner"
    stranger.mkdir(mode=0o700)
    r = cli(
        stranger,
        "verify-bundle",
        str(bundle),
        "--trust",
        str(trust),
        "--recipient-key",
        str(recipient[0]),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK   views: 1 data.js and report.html re-derived: they match" in r.stdout
    r = cli(stranger, "verify-bundle", str(bundle), "--trust", str(trust))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "NOT re-derived without the data keys" in r.stdout.splitlines()[-1]


def test_drawing_the_demo_pictures_requests_nothing_outside_the_local_page(
    home: Path, recorded: Recorded
) -> None:
    """Every request the renderer saw while drawing the demo's pictures and printing the PDF
    was answered from the bundle on the local page's origin, or blocked."""
    res = export_bundle(home, recorded.config, [recorded.session_id], home.parent / "log")
    assert res.report.thumbnails > 0 and res.report.pdf
    served = [u for u, what in res.report.requests if what == "served"]
    assert served and all(u.startswith(LOCAL_ORIGIN) for u in served)
    assert {what for _, what in res.report.requests} <= {"served", "blocked"}
    assert f"{LOCAL_ORIGIN}rrweb-replay.js" in served
