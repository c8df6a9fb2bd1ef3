"""End to end on a REAL recording of the demo app: record once, index, search, rebuild.

The module records the scripted trader session once (headless Chromium, ~45-110 s) and
indexes it; each test then searches and checks that every hit's (session, seq) points at the
journal record it claims to.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.audit import audit_records
from agent.config import Config, load_config
from agent.demo_app import DEMO_SECRETS
from agent.events import Record
from agent.index.base import Hit
from agent.index.extract import TOKEN_RE
from agent.index.from_vault import rebuild_from_vault
from agent.index.indexer import (
    index_new_segments,
    open_index,
    rebuild_from_dir,
)
from agent.index.search import search
from agent.journal.reader import iter_records
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.mask.masker import Masker
from tests.index.payloads import event, rr_input
from tests.journals import flip_byte

# Recording under a loaded CI runner has taken 45-300 s; the budget covers the slow end.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

QUERIES = [
    "user:demo-trader",
    "host:127.0.0.1 kind:navigate",
    '"Send (WS)" kind:click',
    "MSFT kind:ws_sent",
    "WS-000001",
    "kind:console cancel",
    "url:/api/orders",
    "Platinum",
    "kind:click",
]


@dataclass
class Recorded:
    home: Path
    cfg: Config
    session_id: str
    records: dict[int, Record]

    def token(self, value: str, *, typed: bool = False) -> str:
        """The token masking gives ``value``: as typed into a field, or found in text."""
        masker = Masker.from_config(self.cfg.mask, self.home)
        if typed:
            ev = event("rrweb.input", rr_input(999_999, value), 0)
            return str(masker.mask_event(ev).payload["data"]["text"])
        ev = event("page.console", {"level": "log", "text": f"lookup {value}"}, 0)
        m = TOKEN_RE.search(masker.mask_event(ev).payload["text"])
        assert m is not None
        return m.group(0)

    def search(self, q: str, limit: int = 50) -> list[Hit]:
        return search(self.home, self.cfg, q, limit=limit, note="test-examiner")

    def check_points(self, hits: list[Hit]) -> None:
        """Every hit names this session and a seq whose journal record has the hit's kind."""
        for h in hits:
            assert h.session_id == self.session_id
            assert self.records[h.seq].kind == h.kind, (h.seq, h.kind)
            assert self.records[h.seq].t_utc_ns == h.t_utc_ns


def _snapshot(rec: Recorded, home: Path | None = None) -> list[list[tuple[str, int, str]]]:
    out = []
    for q in QUERIES:
        hits = search(home or rec.home, rec.cfg, q, limit=200, note="test-examiner")
        out.append(sorted((h.session_id, h.seq, h.kind) for h in hits))
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    from agent.pipeline import record_demo

    home = tmp_path_factory.mktemp("ixhome") / "home"
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    result = asyncio.run(record_demo(cfg, home, headless=True, fast=True))
    assert result.report.ok, result.report.first_failure
    rep = index_new_segments(home, cfg)
    assert rep.ok and rep.segments_indexed == len(result.segments)
    info = find_session(home, result.session_id)
    kr = Keyring.load(home)
    records = {r.seq: r for s in info.segments for r in iter_records(s.path, kr)}
    return Recorded(home, cfg, result.session_id, records)


def test_user_search_finds_the_session_at_its_start(recorded: Recorded) -> None:
    """user: finds the recorded session; the hit opens at its first event."""
    hits = recorded.search("user:demo-trader")
    assert [(h.session_id, h.seq, h.kind) for h in hits] == [
        (recorded.session_id, 0, "session.start")
    ]
    assert "verified" in hits[0].snippet and hits[0].user == "demo-trader"
    assert recorded.search("user:somebody-else") == []


def test_host_search_finds_navigations(recorded: Recorded) -> None:
    """host: + kind: finds the app's navigations, each pointing at a page.navigate record."""
    hits = recorded.search("host:127.0.0.1 kind:navigate")
    assert len(hits) >= 2 and all(h.kind == "page.navigate" for h in hits)
    assert any(h.url.endswith("/app") for h in hits)
    recorded.check_points(hits)


def test_clicked_button_text_is_searchable(recorded: Recorded) -> None:
    """The 'Send (WS)' click is found by the button's visible text with its selector."""
    hits = recorded.search('"Send (WS)" kind:click')
    assert len(hits) == 1 and hits[0].selector == "button#send-ws"
    assert hits[0].target == "Send (WS)"
    r = recorded.records[hits[0].seq]
    assert r.kind == "rrweb.mouse_interaction" and r.payload["data"]["type"] == 2
    recorded.check_points(hits)


def test_typed_order_symbol_is_found_in_clear_as_typed_and_as_sent(recorded: Recorded) -> None:
    """MSFT (an order field: kept in clear) is found in the sent order and as typed text."""
    hits = recorded.search("MSFT kind:ws_sent")
    assert len(hits) == 1 and hits[0].kind == "net.ws_frame"
    assert recorded.records[hits[0].seq].payload["direction"] == "sent"
    typed = [h for h in recorded.search("MSFT") if h.kind == "rrweb.input"]
    assert len(typed) == 1 and typed[0].label == "Symbol"
    assert recorded.records[typed[0].seq].payload["data"]["text"] == "MSFT"
    recorded.check_points(hits + typed)


def test_account_number_only_findable_by_token(recorded: Recorded) -> None:
    """ACCT-4417-2290 is not in the index in clear; account:<its token> finds the lookup."""
    acct = DEMO_SECRETS["account"]
    assert acct == "ACCT-4417-2290"
    assert recorded.search(acct) == [] and recorded.search(f'"{acct}"') == []
    tok = recorded.token(acct)
    hits = recorded.search(f"account:{tok}")
    kinds = {h.kind for h in hits}
    assert {"rrweb.input", "net.request", "net.response"} <= kinds
    typed = [h for h in hits if h.kind == "rrweb.input"]
    assert recorded.records[typed[0].seq].payload["data"]["text"] == tok
    assert recorded.search(f"token:{tok}")  # unscoped token works too
    assert recorded.search(f"price:{tok}") == []  # scoped to the wrong field: nothing
    recorded.check_points(hits)
    raw = Path(open_index(recorded.home, recorded.cfg).stats().location).read_bytes()
    for secret in (acct, DEMO_SECRETS["ssn"], DEMO_SECRETS["password"]):
        assert secret.encode() not in raw


def test_ws_order_and_its_ack(recorded: Recorded) -> None:
    """The WebSocket order id is found in the ack frame and on the page as it appeared."""
    hits = recorded.search("WS-000001")
    assert {h.kind for h in hits} >= {"net.ws_frame", "rrweb.mutation"}
    ws_tok = recorded.token(DEMO_SECRETS["ws_account"])
    sent = recorded.search(f"kind:ws_sent account:{ws_tok}")
    assert len(sent) == 1
    assert '"symbol":"MSFT"' in recorded.records[sent[0].seq].payload["data"]
    recorded.check_points(hits + sent)


def test_console_error_is_found(recorded: Recorded) -> None:
    """The cancel-all console.error is found by kind and words."""
    hits = recorded.search("kind:console cancel")
    assert len(hits) == 1
    assert recorded.records[hits[0].seq].payload["level"] == "error"
    recorded.check_points(hits)


def test_time_range_in_local_zone_brackets_the_session(recorded: Recorded) -> None:
    """from:/to: with a zone include the session; a window before it excludes it."""
    from agent.clock import utc_iso

    start = utc_iso(recorded.records[0].t_utc_ns)[:16] + "Z"
    assert recorded.search(f'"Send (WS)" from:{start}')
    assert recorded.search('"Send (WS)" to:2000-01-01T00:00[America/New_York]') == []


def test_every_search_writes_exactly_one_audit_record(recorded: Recorded) -> None:
    """N searches → N audit.search records with actor, query and result count."""
    before = len(audit_records(recorded.home, "audit.search"))
    recorded.search("Platinum")
    recorded.search("user:nobody")
    recorded.search('"Send (WS)"')
    after = audit_records(recorded.home, "audit.search")
    assert len(after) == before + 3
    mine = {
        r["query"]: r
        for r in after
        if r.get("note") == "test-examiner"
        and r["query"] in ("Platinum", "user:nobody", '"Send (WS)"')
    }
    assert len(mine) == 3  # (audit sessions in one second list in random order)
    assert mine["Platinum"]["result_count"] >= 1 and mine["user:nobody"]["result_count"] == 0


def test_audit_sessions_are_not_indexed(recorded: Recorded) -> None:
    """Searching does not index the audit journals it writes."""
    recorded.search("Platinum")
    index_new_segments(recorded.home, recorded.cfg)
    ix = open_index(recorded.home, recorded.cfg)
    try:
        assert [s.session_id for s in ix.sessions()] == [recorded.session_id]
    finally:
        ix.close()


def test_rebuild_from_dir_and_after_deleting_the_db_give_the_same_results(
    recorded: Recorded, tmp_path: Path
) -> None:
    """Rebuilding (explicitly, or from scratch after index.db is gone) changes nothing."""
    before = _snapshot(recorded)
    assert all(before)
    rep = rebuild_from_dir(recorded.home, recorded.cfg, recorded.home / "journals")
    assert rep.ok and rep.segments_indexed >= 1
    assert _snapshot(recorded) == before
    db = Path(open_index(recorded.home, recorded.cfg).stats().location)
    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    rep = index_new_segments(recorded.home, recorded.cfg)
    assert rep.ok and rep.segments_indexed >= 1
    assert _snapshot(recorded) == before


def test_tampered_segment_is_reported_and_not_indexed(recorded: Recorded, tmp_path: Path) -> None:
    """A flipped ciphertext byte: that segment is recorded as failed, nothing of it is found."""
    click = recorded.search('"Send (WS)" kind:click')[0]
    seg_id = recorded.records[click.seq].segment
    home = tmp_path / "copy"
    shutil.copytree(recorded.home, home, ignore=shutil.ignore_patterns("index.db*"))
    segs = find_session(home, recorded.session_id).segments
    bad = next(s for s in segs if s.segment_id == seg_id)
    flip_byte(bad.path, "idx = 1")
    rep = index_new_segments(home, recorded.cfg)
    assert not rep.ok and rep.segments_indexed == len(segs) - 1
    assert [(f["session_id"], f["segment_id"]) for f in rep.failed] == [
        (recorded.session_id, seg_id)
    ]
    assert rep.failed[0]["detail"].startswith("chain")
    assert search(home, recorded.cfg, '"Send (WS)" kind:click') == []
    bad_seqs = {q for q, r in recorded.records.items() if r.segment == seg_id}
    for q in QUERIES[1:]:  # event queries: no hit may point into the tampered segment
        assert not {h.seq for h in search(home, recorded.cfg, q, limit=500)} & bad_seqs
    hits = search(home, recorded.cfg, "user:demo-trader")
    assert len(hits) == 1 and "failed" in hits[0].snippet
    ix = open_index(home, recorded.cfg)
    try:
        st = ix.stats()
        assert len(st.failed) == 1 and st.failed[0]["segment_id"] == seg_id
        meta = ix.session(recorded.session_id)
        assert meta is not None and meta.verified == "failed"
    finally:
        ix.close()
    again = index_new_segments(home, recorded.cfg)  # reported again, never silently skipped
    assert len(again.failed) == 1


def test_rebuild_from_vault_alone_gives_the_same_results(
    recorded: Recorded, tmp_path: Path
) -> None:
    """Ship to a file vault, delete the local journals, rebuild from the vault: same hits."""
    from agent.ship.config import ShipConfig
    from agent.ship.runtime import build_shipper

    before = _snapshot(recorded)
    home = tmp_path / "copy"
    shutil.copytree(recorded.home, home, ignore=shutil.ignore_patterns("index.db*"))
    url = f"file://{tmp_path / 'vault'}"
    shipper = build_shipper(home, ShipConfig(vault_url=url))
    res = shipper.ship_once()
    assert not res.failed and not res.quarantined and res.shipped
    shipper.state.close()
    shutil.rmtree(home / "journals")
    shutil.rmtree(home / "ship")
    rep = rebuild_from_vault(home, recorded.cfg, url)
    assert rep.ok and rep.segments_indexed >= 1
    assert _snapshot(recorded, home) == before
    ix = open_index(home, recorded.cfg)
    try:
        meta = ix.session(recorded.session_id)
        assert meta is not None and meta.shipped and meta.source == "vault"
        assert meta.retain_until > "2030" and meta.verified == "verified"
    finally:
        ix.close()
