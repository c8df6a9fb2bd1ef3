"""The export manifest, report and summary carry each segment's retention: the class and
rule its seal records and the retain-until of its vault copy."""

from __future__ import annotations

import json
from pathlib import Path

from agent.clock import iso_seconds, ns_to_dt
from agent.journal.store import segment_info
from agent.replay.export import export_bundle
from agent.ship.filevault import FileVault
from agent.ship.retention import add_retention
from agent.ship.runtime import build_shipper
from agent.testing import FakeClock
from tests.journals import write_scripted_session
from tests.ship.test_classify import policy_config


def test_manifest_report_and_result_carry_class_rule_and_retain_until(tmp_path: Path) -> None:
    """Chat then OMS: segment 0 sealed communications, segment 1 orders; once shipped, the
    manifest names both with their rules and the (escalated) retain-until of each."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    cfg = policy_config(tmp_path, home)
    clock = FakeClock()
    chat = ("page.navigate", {"url": "https://chat.firm/r/1"}, "F")
    oms = ("page.navigate", {"url": "https://oms.firm/blotter"}, "F")
    j = write_scripted_session(home, cfg, clock, [[chat], [oms]])
    vault = FileVault(tmp_path / "vault", clock=clock)
    sh = build_shipper(home, cfg.ship, clock=clock, vaults={"primary": vault}, config=cfg)
    assert len(sh.ship_once().shipped) == 2

    res = export_bundle(home, cfg, [j.session_id], tmp_path / "out", reason="test")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    (entry,) = manifest["sessions"]
    sealed = [ns_to_dt(segment_info(p).sealed_utc_ns) for p in j.segments]
    want = [
        {
            "class": "communications",
            "rule": "url_pattern=https://chat.firm/*",
            "retain_until": iso_seconds(add_retention(sealed[0], "6y")),
        },
        {
            "class": "orders",
            "rule": "url_pattern=https://oms.firm/*",
            "retain_until": iso_seconds(add_retention(sealed[1], "6y")),
        },
    ]
    assert [s["retention"] for s in entry["segments"]] == want
    assert entry["record_class"] == "orders"
    assert res.retention[j.session_id]["class"] == "orders"
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<th>record_class</th><td>orders</td>" in html
    assert "<th>retention_rule</th><td>url_pattern=https://oms.firm/*</td>" in html
