"""Report files of an export when the browser cannot draw: the export still succeeds, every
moment is a named placeholder, report.pdf is absent and the manifest says why, and the
report still re-derives from the segments."""

from __future__ import annotations

import json
from pathlib import Path

from agent.config import load_config
from agent.keys import Keyring, TrustStore
from agent.replay.bundle_verify import verify_bundle
from agent.replay.export import export_bundle
from agent.testing import FakeClock
from tests.journals import write_scripted_session


def test_export_without_a_browser_writes_placeholders_and_says_why_there_is_no_pdf(
    tmp_path: Path,
) -> None:
    """capture.executable points nowhere: a navigation and a download (both pictured
    moments) get 'renderer unavailable' placeholders; verify-bundle re-derives the report."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    cfg = load_config(env={}, home=home)
    cfg = cfg.model_copy(
        update={"capture": cfg.capture.model_copy(update={"executable": str(tmp_path / "none")})}
    )
    events = [
        ("page.navigate", {"url": "https://oms.firm/blotter", "main_frame": True}, "P"),
        ("page.download", {"name": "b.csv", "size": 9, "sha256": "0" * 64, "url": "u"}, "P"),
    ]
    j = write_scripted_session(home, cfg, FakeClock(), [events])
    res = export_bundle(home, cfg, [j.session_id], tmp_path / "out", reason="test")
    out = tmp_path / "out"
    assert (res.report.thumbnails, res.report.thumbnails_missing, res.report.pdf) == (0, 2, False)
    assert not (out / "report.pdf").exists() and not (out / "report" / "thumbs").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    outcomes = manifest["report"]["thumbnails"][j.session_id]
    assert sorted(outcomes) == sorted(
        str(s) for s in _seqs(out, ("page.navigate", "page.download"))
    )
    assert all(o["error"].startswith("renderer unavailable (") for o in outcomes.values())
    assert manifest["report"]["pdf"]["error"].startswith("renderer unavailable (")
    html = (out / "report.html").read_text()
    assert html.count("<div class='noimg'>no picture: renderer unavailable (") == 2
    rep = verify_bundle(
        out, TrustStore.from_dir(home / "keys" / "trusted"), keyring=Keyring.load(home)
    )
    assert rep.ok, rep.first_failure
    assert any(c.name == "views" and c.ok for c in rep.checks)


def _seqs(bundle: Path, kinds: tuple[str, ...]) -> list[int]:
    lines = (bundle / "native" / "events.jsonl").read_text().splitlines()
    return [e["seq"] for e in map(json.loads, lines) if e["kind"] in kinds]
