"""Opening a session for replay: verified part only, withheld tail, missing assets."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from agent.config import load_config
from agent.errors import UsageError
from agent.journal.store import find_session
from agent.replay.session import ReplaySession
from agent.testing import FakeClock, make_event
from tests.journals import CHUNK_STEP_S, flip_byte, open_journal
from tests.replay.helpers import CHROMIUM, Recorded, Viewer, copy_home, start_viewer


@pytest.fixture(scope="module")
def tampered(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    home = copy_home(recorded.home, tmp_path_factory.mktemp("tamper") / "home")
    seg = find_session(home, recorded.session_id).segments[0].path
    n = sqlite3.connect(seg).execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    flip_byte(seg, f"idx = {n // 2}", offset=20, mask=0x01)
    return home, n // 2


def test_tampered_segment_serves_only_the_verified_part(
    tampered: tuple[Path, int], recorded: Recorded
) -> None:
    """Chain fails at the flipped chunk; earlier chunks are served, the rest withheld."""
    home, k = tampered
    rs = ReplaySession.open(home, recorded.session_id)
    try:
        it = rs.integrity()
        assert it["status"] == "failed" and it["failed_check"] == "chain"
        assert f"chunk {k}" in it["first_failure"]
        assert len(rs.chunks) == k
        w = it["withheld"][0]
        assert w["from_chunk"] == k and "chain" in w["reason"]
        last = rs.chunks[-1].seq1
        assert rs.record(last) is not None and rs.record(last + 1) is None
        with pytest.raises(UsageError, match="not in the verified part"):
            rs.raw(last + 1)
        assert any(e["cat"] == "unverified" for e in rs.timeline)
    finally:
        rs.close()


@pytest.fixture(scope="module")
def tampered_viewer(tampered: tuple[Path, int], recorded: Recorded) -> Iterator[Viewer]:
    yield from start_viewer(tampered[0], recorded.session_id)


@pytest.mark.browser
def test_viewer_opens_a_tampered_session_showing_the_failure(tampered_viewer: Viewer) -> None:
    """The viewer still opens: red FAILED badge, banner naming the check, replay shown."""
    assert any("failed" in line for line in tampered_viewer.lines)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = b.new_page(viewport={"width": 1400, "height": 900})
        page.goto(tampered_viewer.url, wait_until="domcontentloaded")
        page.wait_for_selector("body[data-state=ready]", state="attached", timeout=60_000)
        assert page.inner_text("#badge").startswith("FAILED: chain")
        banner = page.inner_text("#banner")
        assert "Verification failed" in banner and "Showing only the verified part" in banner
        assert page.locator("#timeline li.unverified").count() == 1
        assert page.evaluate("!!document.querySelector('#replay iframe')")
        b.close()


def test_missing_asset_is_listed_and_served_as_a_placeholder(
    recorded: Recorded, tmp_path: Path
) -> None:
    """An archived asset deleted from <home>/assets: listed as missing, placeholder served."""
    import urllib.request

    home = copy_home(recorded.home, tmp_path / "h")
    rs = ReplaySession.open(home, recorded.session_id)
    sha = next(iter(rs.assets))
    rs.close()
    (home / "assets" / sha[:2] / sha[2:]).unlink()
    for v in start_viewer(home, recorded.session_id):
        with urllib.request.urlopen(f"{v.base}/api/session?token={v.token}") as r:
            import json

            missing = json.loads(r.read())["assets"]["missing"]
        assert [m["sha256"] for m in missing] == [sha]
        with urllib.request.urlopen(f"{v.base}/assets/{sha}?token={v.token}") as r:
            assert r.headers["X-Sessiontape-Asset"] == "missing"
            assert b"missing" in r.read()


def test_seq_at_finds_a_held_back_event_sealed_chunks_later(tmp_path: Path) -> None:
    """A network event is sealed after newer recorder events (capture holds it back), so the
    seq of a moment can sit in a chunk that starts after that moment, two chunks on."""
    home = tmp_path / "home"
    clock = FakeClock()
    j = open_journal(home, load_config(env={}, home=home), clock)
    times: dict[int, int] = {}
    for n, back_s in enumerate([0.0, 0.0, 0.0, 0.0, 1.2]):  # the last is 1.2 s old
        clock.advance_s(CHUNK_STEP_S)
        ev = make_event("net.request" if back_s else "clock.tick", {"n": n}, clock=clock)
        ev.t_utc_ns -= int(back_s * 1e9)
        times[n] = ev.t_utc_ns
        j.append_many([ev])
    j.close()
    rs = ReplaySession.open(home, j.session_id)
    try:
        first, last = rs.seq_range
        assert first is not None and last is not None
        recs = [r for r in rs.records(first, last) if r.kind in ("clock.tick", "net.request")]
        by_n = {r.payload["n"]: r.seq for r in recs}
        held = times[4]
        assert times[1] < held < times[2]  # older than the two chunks sealed before it
        assert rs.seq_at(held) == by_n[4]
        assert rs.seq_at(times[2] - 1) == by_n[4]
        assert rs.seq_at(held - 1) == by_n[1]
        assert rs.seq_at(times[0] - 1) == first  # before the first: the first
    finally:
        rs.close()
