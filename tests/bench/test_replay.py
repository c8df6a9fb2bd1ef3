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


def test_browser_seeks_are_timed_in_the_real_viewer_until_the_frame_is_painted() -> None:
    """With browser seeks, each seek runs in headless Chromium against the real server and
    reports p50 <= p95 <= max for exactly that many seeks."""
    r = run(hours=0.01, rate=5, seeks=1, browser_seeks=3)
    b = r["browser"]
    assert b["seeks"] == 3
    assert 0 < b["p50_s"] <= b["p95_s"] <= b["max_s"]
