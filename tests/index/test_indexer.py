"""Indexing real (multi-segment, sealed) journals: verify first, incremental, rebuild, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.config import Config
from agent.index import carry, indexer
from agent.index.extract import Extractor
from agent.index.indexer import index_new_segments, open_index, rebuild_from_dir
from agent.index.query import parse
from agent.journal.reader import iter_records
from agent.journal.store import SegmentInfo, find_session
from agent.keys import Keyring
from agent.testing import FakeClock
from tests.index.backends import BACKEND_NAMES, config_for, write_home_config
from tests.index.payloads import TRADER, ticket_segments, ticket_session
from tests.journals import append_events, flip_byte, rotate, write_scripted_session


@pytest.fixture(params=BACKEND_NAMES)
def cfg(request: pytest.FixtureRequest, cfg: Config) -> Config:
    """Each test runs on both index backends."""
    return config_for(request, cfg, request.param)


def _hits(home: Path, cfg: Config, q: str) -> list[tuple[int, str]]:
    ix = open_index(home, cfg)
    try:
        return sorted((h.seq, h.kind) for h in ix.search(parse(q), 100))
    finally:
        ix.close()


def test_sealed_segments_are_indexed_once(home: Path, cfg: Config, clock: FakeClock) -> None:
    """A second run skips every segment already indexed (by seal hash)."""
    sid = ticket_session(home, cfg, clock)
    first = index_new_segments(home, cfg)
    assert (first.segments_indexed, first.segments_skipped, first.ok) == (3, 0, True)
    again = index_new_segments(home, cfg)
    assert (again.segments_indexed, again.segments_skipped, again.rows) == (0, 3, 0)
    keyring = Keyring.load(home)
    console = [
        r.seq
        for seg in find_session(home, sid).segments
        for r in iter_records(seg.path, keyring)
        if r.kind == "page.console"
    ]
    assert _hits(home, cfg, "margin") == [(console[0], "page.console")] and len(console) == 1


@pytest.mark.parametrize("restarted", [False, True], ids=["same-process", "restarted"])
def test_open_segment_waits_and_clicks_keep_their_text_across_runs(
    home: Path, cfg: Config, clock: FakeClock, restarted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live segment is not indexed; later, its click still gets segment one's button text:
    in the same process from the extractor the first run left (the earlier segments are not
    read again), after a restart by replaying them."""
    segments = ticket_segments()
    j = write_scripted_session(home, cfg, clock, segments[:2], meta=TRADER, close=False)
    rotate(j, clock, cfg)
    rep = index_new_segments(home, cfg)
    assert rep.segments_indexed == 2 and rep.ok
    assert _hits(home, cfg, "kind:click") == []
    append_events(j, clock, segments[2])
    j.close()
    replays: list[int] = []
    warm = indexer._warm

    def counted(done: list[SegmentInfo], *args: Any) -> Extractor:
        replays.append(len(done))
        return warm(done, *args)

    monkeypatch.setattr(indexer, "_warm", counted)
    if restarted:
        monkeypatch.setattr(carry, "_BY_HOME", {})
    rep = index_new_segments(home, cfg)
    assert replays == ([2] if restarted else [])
    assert (rep.segments_indexed, rep.segments_skipped) == (1, 2)
    ix = open_index(home, cfg)
    try:
        clicks = ix.search(parse('"Send (WS)" kind:click'), 10)
    finally:
        ix.close()
    assert [(c.target, c.selector) for c in clicks] == [("Send (WS)", "button#send-ws")]


def test_session_metadata_from_the_journal(home: Path, cfg: Config, clock: FakeClock) -> None:
    """User, workstation, times, URLs and verified state land on the session row."""
    sid = ticket_session(home, cfg, clock)
    index_new_segments(home, cfg)
    ix = open_index(home, cfg)
    try:
        m = ix.session(sid)
    finally:
        ix.close()
    assert m is not None
    assert (m.user, m.workstation, m.verified, m.shipped, m.held) == (
        "trader1",
        "ws-7",
        "verified",
        False,
        False,
    )
    assert m.urls == ["http://127.0.0.1:36775/app"] and m.hosts == ["127.0.0.1"]
    assert m.end_ns > m.start_ns > 0


def test_tampered_middle_segment_fails_others_stay_searchable(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A flipped byte in segment 1 → that segment failed (named), 0 and 2 indexed."""
    sid = ticket_session(home, cfg, clock)
    flip_byte(find_session(home, sid).segments[1].path)
    rep = index_new_segments(home, cfg)
    assert rep.segments_indexed == 2 and [f["index"] for f in rep.failed] == [1]
    assert rep.failed[0]["detail"].split(":")[0] in ("chain", "seal", "checkpoint")
    assert _hits(home, cfg, "token:tok_1b0291152bfb9d97") == []  # was in segment 1
    assert _hits(home, cfg, "margin") != []  # segment 2 is fine
    ix = open_index(home, cfg)
    try:
        assert ix.stats().failed[0]["index"] == 1
        m = ix.session(sid)
        assert m is not None and m.verified == "failed"
    finally:
        ix.close()


def test_missing_segment_breaks_continuity(home: Path, cfg: Config, clock: FakeClock) -> None:
    """Deleting segment 1 makes segment 2 fail continuity instead of being indexed."""
    sid = ticket_session(home, cfg, clock)
    find_session(home, sid).segments[1].path.unlink()
    rep = index_new_segments(home, cfg)
    assert [f["index"] for f in rep.failed] == [2]
    assert rep.failed[0]["detail"].startswith("continuity")


def test_untrusted_signing_key_fails(
    home: Path, cfg: Config, clock: FakeClock, tmp_path: Path
) -> None:
    """Verification against a trust store without the signer: nothing indexed."""
    ticket_session(home, cfg, clock)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.pub").write_text("00" * 32)
    rep = index_new_segments(home, cfg, trust_dir=other)
    assert rep.segments_indexed == 0 and len(rep.failed) == 3
    assert all(f["detail"].startswith(("key", "checkpoint", "seal")) for f in rep.failed)


def test_rebuild_from_dir_replaces_the_index(
    home: Path, cfg: Config, clock: FakeClock, tmp_path: Path
) -> None:
    """rebuild drops what was there and indexes the given journals directory."""
    ticket_session(home, cfg, clock)
    index_new_segments(home, cfg)
    before = _hits(home, cfg, "kind:net")
    rep = rebuild_from_dir(home, cfg, home / "journals")
    assert rep.segments_indexed == 3 and rep.segments_skipped == 0
    assert _hits(home, cfg, "kind:net") == before != []


def test_scheduler_job_indexes_and_never_raises(home: Path, cfg: Config, clock: FakeClock) -> None:
    """job_index(home) indexes new segments; a tampered one is logged, not raised."""
    from agent.index.indexer import job_index

    sid = ticket_session(home, cfg, clock)
    flip_byte(find_session(home, sid).segments[2].path)
    write_home_config(home, cfg)
    job_index(str(home))
    assert _hits(home, cfg, "kind:net") != [] and _hits(home, cfg, "margin") == []


def test_hold_and_shipped_state_come_from_the_ship_state(
    home: Path, cfg: Config, clock: FakeClock
) -> None:
    """A shipped session under a legal hold is held:yes with its retain-until."""
    from agent.ship.state import ShipState

    sid = ticket_session(home, cfg, clock)
    index_new_segments(home, cfg)
    assert _hits(home, cfg, "held:yes") == []
    st = ShipState(home / "ship" / "state.db")
    with st.tx() as con:
        for s in find_session(home, sid).segments:
            con.execute(
                "INSERT INTO objects (key, session_id, segment_id, path, size, "
                "sealed_utc_ns, record_class, retain_until, status, discovered_ns) "
                "VALUES (?, ?, ?, ?, 1, 1, 'default', '2032-11-26T00:00:00Z', "
                "'shipped', 1)",
                (f"k{s.index}", sid, s.segment_id, str(s.path)),
            )
        con.execute(
            "INSERT INTO holds (matter, session_id, actor, placed_ns) "
            "VALUES ('SEC-2026-17', ?, 'cco', 1)",
            (sid,),
        )
    st.close()
    index_new_segments(home, cfg)
    assert _hits(home, cfg, "held:yes") == [(0, "session.start")]
    ix = open_index(home, cfg)
    try:
        m = ix.session(sid)
        assert m is not None and (m.held, m.shipped, m.retain_until) == (
            True,
            True,
            "2032-11-26T00:00:00Z",
        )
    finally:
        ix.close()
