"""The viewer's per-launch token on ``/assets`` and ``/api/raw``: a real `sessiontape replay`
process on 127.0.0.1 over a journal-built session (no browser needed)."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.keys import Keyring
from agent.replay.assets import asset_path
from agent.testing import FakeClock
from tests.journals import write_session
from tests.replay.helpers import Viewer, start_viewer


def _get(url: str, cookie: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
def journal_viewer(tmp_path: Path) -> Iterator[tuple[Viewer, str]]:
    """A real viewer process over a journal-built session, with one real archived asset;
    yields the viewer and the asset's SHA-256."""
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    sid = write_session(home, clock=FakeClock()).session_id
    data = b"body { color: red }\n"
    sha = hashlib.sha256(data).hexdigest()
    p = asset_path(home / "assets", sha)
    p.parent.mkdir(parents=True)
    p.write_bytes(data)
    for v in start_viewer(home, sid):
        yield v, sha


def test_assets_and_raw_need_the_token(journal_viewer: tuple[Viewer, str]) -> None:
    """``/assets/<sha>`` and ``/api/raw``: 403 without the token or with a wrong one, 200 with
    it (the archived bytes; the raw event with its proof)."""
    v, sha = journal_viewer
    for path in (f"/assets/{sha}", "/api/raw?seq=3"):
        sep = "&" if "?" in path else "?"
        assert _get(v.base + path)[0] == 403, path
        assert _get(f"{v.base}{path}{sep}token=wrong")[0] == 403, path
        assert _get(v.base + path, f"st_replay_token={'x' * 43}")[0] == 403, path
    status, body = _get(f"{v.base}/assets/{sha}?token={v.token}")
    assert (status, body) == (200, b"body { color: red }\n")
    status, body = _get(f"{v.base}/api/raw?seq=3&token={v.token}")
    assert status == 200
    raw = json.loads(body)
    assert raw["record"]["seq"] == 3 and raw["proof_status"] == "verified"
