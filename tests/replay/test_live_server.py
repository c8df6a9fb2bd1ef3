"""The live viewer's server: token, same-origin POST actions wired to the supervisor
controls (a recording double), join/leave, and refusing to listen off loopback unsafely."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError
from agent.keys import Keyring
from agent.replay.live_server import listen_plan, read_token_file
from agent.testing import FakeClock
from tests.journals import write_session
from tests.replay.live_helpers import RecordingControls, http, live_server
from tests.waiting import wait_until

CLIENT = "client-0123456789"


def _home(tmp_path: Path) -> tuple[Path, str]:
    home = tmp_path / "home"
    Keyring.load_or_init(home)
    return home, write_session(home, clock=FakeClock(), close=False).session_id


def test_the_page_and_the_api_need_the_token(tmp_path: Path) -> None:
    home, sid = _home(tmp_path)
    with live_server(home, load_config(env={}, home=home), sid) as srv:
        assert http(srv.base + "/")[0] == 403
        assert http(srv.base + "/?token=wrong")[0] == 403
        assert http(srv.url)[0] == 200
        poll = f"{srv.base}/api/live/poll?client={CLIENT}&wait_ms=0"
        assert http(poll)[0] == 403
        assert http(poll, headers={"Authorization": "Bearer " + "x" * 43})[0] == 403
        status, body = http(poll, headers={"Authorization": f"Bearer {srv.token}"})
        assert status == 200
        ans = json.loads(body)
        assert ans["session_id"] == sid
        assert ans["controls"] is False
        # Another Host (DNS rebinding) and a cross-site request are refused.
        other = {"Authorization": f"Bearer {srv.token}", "Host": "evil.example:80"}
        assert http(poll, headers=other)[0] == 421
        cross = {"Authorization": f"Bearer {srv.token}", "Sec-Fetch-Site": "cross-site"}
        assert http(poll, headers=cross)[0] == 403


def test_the_buttons_call_the_controls_with_the_supervisor_name(tmp_path: Path) -> None:
    home, sid = _home(tmp_path)
    controls = RecordingControls()
    cfg = load_config(env={"SESSIONTAPE_REPLAY_LIVE_LEAVE_SECONDS": "1"}, home=home)
    with live_server(home, cfg, sid, controls) as srv:
        me = srv.state.plan.tokens[srv.token]
        auth = {"Authorization": f"Bearer {srv.token}"}
        # A POST carrying the token only in the URL (what a forged form could send) is refused.
        assert http(f"{srv.base}/api/live/pause?token={srv.token}", method="POST")[0] == 403
        assert controls.calls == []
        status, body = http(f"{srv.base}/api/live/poll?client={CLIENT}&wait_ms=0", headers=auth)
        assert status == 200
        assert json.loads(body)["controls"] is True
        assert controls.calls == [("join", me)]
        for action in ("pause", "resume", "end"):
            assert http(f"{srv.base}/api/live/{action}", method="POST", headers=auth)[0] == 200
        assert controls.calls[1:] == [("pause", me), ("resume", me), ("end", me)]
        assert http(f"{srv.base}/api/live/reboot", method="POST", headers=auth)[0] == 404
        # A page that stops polling has left.
        wait_until(lambda: ("leave", me) in controls.calls, what="the silent viewer to leave")
        # A page that says goodbye leaves at once.
        http(f"{srv.base}/api/live/poll?client={CLIENT}x&wait_ms=0", headers=auth)
        http(f"{srv.base}/api/live/leave?client={CLIENT}x", method="POST", headers=auth)
        assert controls.calls[-2:] == [("join", me), ("leave", me)]


def test_a_watch_only_view_has_no_buttons(tmp_path: Path) -> None:
    home, sid = _home(tmp_path)
    with live_server(home, load_config(env={}, home=home), sid) as srv:
        auth = {"Authorization": f"Bearer {srv.token}"}
        assert http(f"{srv.base}/api/live/end", method="POST", headers=auth)[0] == 409


def test_listening_off_loopback_needs_tls_and_a_token_file(tmp_path: Path) -> None:
    cfg = load_config(env={}, home=tmp_path)
    plan = listen_plan(cfg.replay)
    assert plan.host == "127.0.0.1" and plan.tls is None and len(plan.tokens) == 1
    with pytest.raises(ConfigError, match="needs TLS and a token file; set replay.live_tls_cert"):
        listen_plan(cfg.replay, "0.0.0.0:8765")
    tokens = tmp_path / "tokens"
    tokens.write_text("alice " + "a" * 40 + "\n")
    env = {"SESSIONTAPE_REPLAY_LIVE_TOKEN_FILE": str(tokens)}
    with pytest.raises(ConfigError, match="set replay.live_tls_cert, replay.live_tls_key$"):
        listen_plan(load_config(env=env, home=tmp_path).replay, "192.0.2.1:8765")
    os.chmod(tokens, 0o644)
    with pytest.raises(ConfigError, match="mode 0644, must be 0600"):
        read_token_file(tokens)
    os.chmod(tokens, 0o600)
    assert read_token_file(tokens) == {"a" * 40: "alice"}
    tokens.write_text("bob short\n")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        read_token_file(tokens)
