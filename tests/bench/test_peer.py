"""The named peer (rrweb 2.2.2) for capture benchmarks: its script and how its stream is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.bench import peer
from agent.bench.blotter import captured_cells
from agent.errors import CaptureError


def test_peer_source_is_the_pinned_rrweb_plus_a_starter_bound_to_the_given_binding() -> None:
    src = peer.peer_source("__st_abc", flush_ms=100)
    assert src.startswith(peer.RRWEB_UMD.read_text(encoding="utf-8"))
    assert 'globalThis["__st_abc"]' in src
    assert "maskAllInputs: true" in src and "setInterval(ship, 100)" in src


def test_missing_rrweb_says_to_run_npm_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peer, "RRWEB_DIR", tmp_path / "rrweb")
    monkeypatch.setattr(peer, "RRWEB_UMD", tmp_path / "rrweb" / "dist" / "rrweb.umd.min.cjs")
    with pytest.raises(CaptureError, match="run `npm ci` in recorder_js first"):
        peer.peer_source("__st_x")


def test_pinned_npm_file_refuses_another_installed_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "node_modules" / "grid"
    (pkg / "dist").mkdir(parents=True)
    (pkg / "dist" / "grid.js").write_text("x", encoding="utf-8")
    (pkg / "package.json").write_text(json.dumps({"version": "1.0.1"}), encoding="utf-8")
    monkeypatch.setattr(peer, "RECORDER_JS", tmp_path)
    with pytest.raises(CaptureError, match=r"grid 1\.0\.1 installed, want 1\.0\.0: reinstall"):
        peer.pinned_npm_file("grid", "1.0.0", pkg / "dist" / "grid.js", "reinstall")
    assert peer.pinned_npm_file("grid", "1.0.1", pkg / "dist" / "grid.js", "x").name == "grid.js"


def test_surviving_pct_counts_only_each_cells_last_write_within_an_update() -> None:
    # update 1: cell (0,0) written twice -> 2 of 3 writes survive; update 2: both survive.
    changes = [(0, 0, "1.00"), (0, 1, "2.00"), (0, 0, "3.00"), (1, 1, "4.00"), (0, 0, "5.00")]
    assert peer.surviving_pct(changes[:3], 3) == round(100 * 2 / 3, 3)
    assert peer.surviving_pct(changes[:3] + changes[3:] + [(2, 2, "6.00")], 3) == round(
        100 * 5 / 6, 3
    )
    assert peer.surviving_pct([], 3) is None


def test_peer_messages_read_like_our_stream_for_the_changes_captured_measure() -> None:
    td = {
        "type": 2,
        "tagName": "td",
        "id": 5,
        "attributes": {},
        "childNodes": [{"type": 3, "id": 6, "textContent": "100.00"}],
    }
    table = {
        "type": 2,
        "tagName": "table",
        "id": 2,
        "attributes": {"id": "grid"},
        "childNodes": [
            {
                "type": 2,
                "tagName": "tbody",
                "id": 3,
                "attributes": {},
                "childNodes": [
                    {"type": 2, "tagName": "tr", "id": 4, "attributes": {}, "childNodes": [td]}
                ],
            }
        ],
    }
    full = {
        "type": 2,
        "timestamp": 1,
        "data": {"node": {"type": 0, "id": 1, "childNodes": [table]}},
    }
    mutation = {
        "type": 3,
        "timestamp": 2,
        "data": {
            "source": 0,
            "texts": [],
            "attributes": [],
            "removes": [{"parentId": 5, "id": 6}],
            "adds": [
                {
                    "parentId": 5,
                    "nextId": None,
                    "node": {"type": 3, "id": 7, "textContent": "101.50"},
                }
            ],
        },
    }
    mouse = {"type": 3, "timestamp": 3, "data": {"source": 1, "positions": []}}
    events = peer.peer_events([json.dumps([full]), json.dumps([mutation, mouse])])
    assert [e.kind for e in events] == ["rrweb.full_snapshot", "rrweb.mutation", "rrweb.other"]
    assert captured_cells(events, "grid") == {(0, 0, "100.00"), (0, 0, "101.50")}
