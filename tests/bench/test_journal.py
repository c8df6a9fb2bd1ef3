"""The journal benchmark writes every event through the real sink and verifies the result."""

from __future__ import annotations

from pathlib import Path

from agent.bench.journal import make_events, run


def test_small_run_writes_every_event_and_verifies(tmp_path: Path) -> None:
    """1000 events in batches of 100: all written, sealed segments verify with and without key."""
    r = run(1000, batch=100, home=tmp_path)
    assert r["events"] == 1000 and r["producer_batch_events"] == 100
    assert r["verify_ok"] is True
    assert r["segments"] >= 1 and r["commits"] >= 1
    assert r["events_per_s"] > 0 and r["stored_mb"] > 0


def test_event_mix_is_seeded() -> None:
    """The same seed gives the same kinds and payloads, so runs compare like with like."""
    a, b = make_events(50, seed=3), make_events(50, seed=3)
    assert [(e.kind, e.payload) for e in a] == [(e.kind, e.payload) for e in b]
    assert {e.kind for e in make_events(200, mix="small")} <= {"rrweb.mouse_move", "input.key"}
