"""The replay seek benchmark writes the session it promises and times real seeks."""

from __future__ import annotations

from agent.bench.replay import run


def test_a_short_session_has_one_keyframe_per_minute_and_every_mutation() -> None:
    """36 s at 5 mutations/s: 180 mutations plus one Meta + FullSnapshot keyframe."""
    r = run(hours=0.01, rate=5, seeks=2)
    assert r["events"] == 182
    assert r["keyframes"] == 1
    assert r["chunks"] > 0
    assert 0 < r["seek_p50_s"] <= r["seek_max_s"]
    assert r["events_per_seek_max"] > 0 and r["bytes_per_seek_max"] > 0
