"""The health server: a private Unix socket and status file, /status JSON, /metrics in the
Prometheus text format, one agent per home, TCP metrics on loopback only unless configured."""

from __future__ import annotations

import json
import os
import socket
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import Config, load_config
from agent.errors import ConfigError, UsageError
from agent.health.board import StatusBoard
from agent.health.client import ask, query_status
from agent.health.server import HealthHandle, start_health
from tests.health.promtext import parse, value

STATUS_FIELDS = {
    "v", "at", "at_ns", "pid", "version", "started", "started_ns", "recording",
    "recording_since", "session_id", "tabs", "last_durable_event", "last_durable_event_age_s",
    "last_checkpoint", "ship_backlog", "disk_free_bytes", "last_error", "ship_job",
}  # fmt: skip


@pytest.fixture
def served(tmp_path: Path, cfg: Config) -> Iterator[tuple[StatusBoard, HealthHandle]]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    board = StatusBoard(home)
    handle = start_health(board, home, cfg, interval_s=0.2)
    try:
        yield board, handle
    finally:
        handle.stop()


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_socket_status_file_and_run_dir_are_private(
    served: tuple[StatusBoard, HealthHandle],
) -> None:
    """<home>/run is 0700, agent.sock 0600 and a socket, status.json 0600."""
    _, h = served
    assert _mode(h.socket_path.parent) == 0o700
    assert stat.S_ISSOCK(os.stat(h.socket_path).st_mode)
    assert _mode(h.socket_path) == 0o600
    assert _mode(h.status_path) == 0o600


def test_status_json_has_every_field_and_what_the_service_told(
    served: tuple[StatusBoard, HealthHandle],
) -> None:
    """GET /status over the socket returns the document with the told facts."""
    board, h = served
    board.recording_started("sess-1")
    board.tabs(3)
    board.event_durable()
    board.error("journal: disk full\nsecond line")
    doc = query_status(h.socket_path.parent.parent)
    assert doc is not None
    assert set(doc) == STATUS_FIELDS
    assert doc["v"] == 1
    assert doc["pid"] == os.getpid()
    assert (doc["recording"], doc["session_id"], doc["tabs"]) == (True, "sess-1", 3)
    assert doc["last_durable_event"] is not None
    assert doc["last_error"]["message"] == "journal: disk full"
    assert doc["ship_job"]["state"] == "unknown"
    assert doc["ship_backlog"] == {"segments": 0, "bytes": 0, "oldest_age_s": None, "failing": 0}
    assert isinstance(doc["disk_free_bytes"], int) and doc["disk_free_bytes"] > 0


def test_metrics_follow_the_exposition_grammar_with_sessiontape_names(
    served: tuple[StatusBoard, HealthHandle],
) -> None:
    """Every line parses; the named gauges carry the board's values; unknown ones are absent."""
    board, h = served
    board.recording_started("sess-2")
    board.tabs(2)
    board.event_durable()
    body = ask(h.socket_path.parent.parent, "/metrics")
    assert body is not None
    samples = parse(body.decode())
    assert all(name.startswith("sessiontape_") for name, _ in samples)
    assert value(samples, "sessiontape_recording") == 1
    assert value(samples, "sessiontape_tabs_recorded") == 2
    age = value(samples, "sessiontape_last_durable_event_age_seconds")
    assert age is not None and 0 <= age < 60
    assert value(samples, "sessiontape_ship_backlog_segments") == 0
    free = value(samples, "sessiontape_disk_free_bytes")
    assert free is not None and free > 0
    assert value(samples, "sessiontape_checkpoint_age_seconds") is None  # none in the vault
    assert value(samples, "sessiontape_ship_last_run_age_seconds") is None  # never ran
    assert value(samples, "sessiontape_ship_job_state", state="unknown") == 1
    assert value(samples, "sessiontape_ship_job_state", state="ok") == 0


def test_second_agent_on_the_same_home_is_refused(
    served: tuple[StatusBoard, HealthHandle], cfg: Config
) -> None:
    """A live socket is never taken over: the second start fails naming it."""
    board, h = served
    home = h.socket_path.parent.parent
    with pytest.raises(UsageError, match="another agent already serves"):
        start_health(StatusBoard(home), home, cfg)
    assert query_status(home) is not None  # the first one still answers


def test_socket_left_by_a_dead_agent_is_replaced(tmp_path: Path, cfg: Config) -> None:
    """A socket file nobody listens on (an agent killed) does not stop the next agent."""
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True, mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(home / "run" / "agent.sock"))
    dead.close()  # bound, never listening: the file stays, nothing answers
    h = start_health(StatusBoard(home), home, cfg, interval_s=0.2)
    try:
        assert query_status(home) is not None
    finally:
        h.stop()


def test_stop_removes_the_socket_and_leaves_a_stopped_status(tmp_path: Path, cfg: Config) -> None:
    """After stop nothing answers and the status file says when the agent stopped."""
    home = tmp_path / "home"
    h = start_health(StatusBoard(home), home, cfg, interval_s=0.2)
    h.stop()
    assert not h.socket_path.exists()
    assert query_status(home) is None
    doc = json.loads(h.status_path.read_text())
    assert doc["stopped"] == doc["at"]


def test_non_loopback_metrics_listen_is_refused_unless_configured(tmp_path: Path) -> None:
    """0.0.0.0 and a LAN address are config errors; with metrics_listen_remote they load."""
    for addr in ("0.0.0.0:9464", "192.0.2.7:9464", "[::]:9464"):
        with pytest.raises(ConfigError, match="not a loopback address"):
            load_config(env={"SESSIONTAPE_AGENT_METRICS_LISTEN": addr})
    ok = load_config(
        env={
            "SESSIONTAPE_AGENT_METRICS_LISTEN": "0.0.0.0:9464",
            "SESSIONTAPE_AGENT_METRICS_LISTEN_REMOTE": "true",
        }
    )
    assert ok.agent.metrics_listen == "0.0.0.0:9464"


def test_start_health_refuses_a_non_loopback_listener_even_unvalidated(
    tmp_path: Path, cfg: Config
) -> None:
    """A config built without validation still cannot open a non-loopback listener."""
    agent = cfg.agent.model_copy(update={"metrics_listen": "0.0.0.0:0"})
    bad = cfg.model_copy(update={"agent": agent})
    home = tmp_path / "home"
    with pytest.raises(ConfigError, match="not a loopback address"):
        start_health(StatusBoard(home), home, bad)
    assert not (home / "run" / "agent.sock").exists()


def test_loopback_tcp_listener_serves_metrics_only(tmp_path: Path, cfg: Config) -> None:
    """127.0.0.1 answers /metrics in the exposition format and 404 for /status."""
    agent = cfg.agent.model_copy(update={"metrics_listen": "127.0.0.1:0"})
    home = tmp_path / "home"
    h = start_health(StatusBoard(home), home, cfg.model_copy(update={"agent": agent}))
    try:
        assert h.tcp_address is not None and h.tcp_address[0] == "127.0.0.1"
        base = f"http://127.0.0.1:{h.tcp_address[1]}"
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            samples = parse(r.read().decode())
        assert value(samples, "sessiontape_recording") == 0
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/status", timeout=5)
        assert err.value.code == 404
    finally:
        h.stop()
