"""Attack: drive the recorded browser through its debugging port.

Before, Chromium was launched with ``--remote-debugging-port`` on 127.0.0.1: any local process
could read the port from ``ps``, attach over CDP and rewrite the trading page, and the injected
text was sealed as if the trader had seen it. The attacker below does exactly that; during a
real ``sessiontape record`` it finds no port to attach to, while the same attacker still takes
over a browser that does listen (so the attack code itself works).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import connect

from agent.capture.browser import browser_args
from agent.capture.config import CaptureConfig
from agent.errors import CaptureError
from agent.journal.store import list_sessions
from tests.pipeline.site import serve_page
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"
PAGE = b"""<!doctype html><title>Blotter</title><body><p id="px">AAPL 187.25</p></body>"""
MARKER = "INJECTED-BY-ATTACKER"
_PORT_RX = re.compile(r"port[=:](\d{1,5})")


# -- what an attacker on the same machine sees ---------------------------------------------
def _stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of ``/proc/PID/stat`` after the command name) of every process in /proc:
    state, ppid, pgrp, ..."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            yield int(entry), stat.rsplit(")", 1)[1].split()


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid``."""
    kids: dict[int, list[int]] = {}
    for child, fields in _stats():
        kids.setdefault(int(fields[1]), []).append(child)
    out, todo = [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def process_group(pgid: int) -> list[int]:
    """Every live process of process group ``pgid``."""
    return [pid for pid, fields in _stats() if int(fields[2]) == pgid]


def cmdline(pid: int) -> list[str]:
    """The arguments of ``pid`` (a zygote child rewrites its whole command line into one)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def listening_tcp() -> dict[int, int]:
    """Socket inode -> port of every listening TCP socket (v4 and v6) on the machine."""
    out: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A":  # TCP_LISTEN
                out[int(f[9])] = int(f[1].rsplit(":", 1)[1], 16)
    return out


def socket_inodes(pid: int) -> set[int]:
    out: set[int] = set()
    with_fds = Path(f"/proc/{pid}/fd")
    try:
        fds = list(with_fds.iterdir())
    except OSError:
        return out
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def candidate_ports(pids: list[int]) -> set[int]:
    """Ports an attacker would try: any ``port=N`` on a command line, and the port Chromium
    writes to ``DevToolsActivePort`` in its profile when it listens."""
    ports: set[int] = set()
    for pid in pids:
        line = " ".join(cmdline(pid))
        ports.update(int(p) for p in _PORT_RX.findall(line))
        for profile in re.findall(r"--user-data-dir=(\S+)", line):
            active = Path(profile) / "DevToolsActivePort"
            if active.is_file():
                ports.add(int(active.read_text().split()[0]))
    return {p for p in ports if 0 < p < 65536}


def json_version(port: int) -> str | None:
    """``/json/version`` of a debugging endpoint on ``port``, or None if unreachable."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=2) as r:
            return str(r.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def page_listed(port: int) -> bool:
    """Whether the endpoint on ``port`` lists a page target yet (it answers ``/json/version``
    a moment before the first page exists)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
            return any(t.get("type") == "page" for t in json.loads(r.read()))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def attack(pids: list[int]) -> list[str]:
    """Find a debugging port of the browser, attach, rewrite every page; the URLs rewritten."""
    rewritten: list[str] = []
    for port in sorted(candidate_ports(pids)):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                targets = json.loads(r.read())
        except (urllib.error.URLError, OSError, ValueError):
            continue
        for t in targets:
            if t.get("type") != "page" or "webSocketDebuggerUrl" not in t:
                continue
            with connect(t["webSocketDebuggerUrl"], open_timeout=5) as ws:
                expr = f"document.body.textContent = {json.dumps(MARKER)}; document.title"
                ws.send(
                    json.dumps(
                        {"id": 1, "method": "Runtime.evaluate", "params": {"expression": expr}}
                    )
                )
                answer = json.loads(ws.recv(timeout=5))
                if "result" in answer and "exceptionDetails" not in answer["result"]:
                    rewritten.append(str(t.get("url")))
    return rewritten


# -- a real recording -----------------------------------------------------------------------
@pytest.fixture
def recording(home: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``sessiontape record`` of a local page, headless, until the test stops it."""
    with serve_page(tmp_path, PAGE) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
        env["PYTHONPATH"] = str(ROOT)
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.main", "--home", str(home), "record", url]
            + ["--headless", "--duration", "120"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield proc, home
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _browser_tree(proc: subprocess.Popen[bytes], home: Path) -> list[int]:
    """The recorded browser's processes (descendants of the agent and the browser's process
    group), once the page is being recorded."""

    def recording_started() -> bool:
        sessions = list_sessions(home)
        return bool(sessions) and sessions[0].event_count > 5

    wait_until(recording_started, what="the page to be recorded", timeout_s=90)
    below = descendants(proc.pid)
    browser = [p for p in below if "--remote-debugging-pipe" in cmdline(p)]
    assert len(browser) == 1, "the recorded browser runs below the agent, on a CDP pipe"
    # The zygote forks renderers twice (they are re-parented away from the browser) but they
    # stay in the browser's process group.
    tree = sorted(set(below) | set(process_group(browser[0])))
    renderers = [p for p in tree if "--type=renderer" in " ".join(cmdline(p))]
    assert renderers, "the page's renderer is part of the tree that was inspected"
    return tree


def test_no_process_of_the_recorded_browser_listens_on_tcp(
    recording: tuple[subprocess.Popen[bytes], Path],
) -> None:
    """(a) No listening TCP socket belongs to the browser or any of its processes."""
    proc, home = recording
    tree = _browser_tree(proc, home)
    listening = listening_tcp()
    owned = {
        pid: sorted(listening[i] for i in socket_inodes(pid) if i in listening) for pid in tree
    }
    assert {pid: ports for pid, ports in owned.items() if ports} == {}
    # the scan reads sockets: the network service of the same tree does hold some
    assert any(socket_inodes(pid) for pid in tree)


def test_no_debugging_port_on_any_command_line_and_json_version_unreachable(
    recording: tuple[subprocess.Popen[bytes], Path],
) -> None:
    """(b) No ``--remote-debugging-port`` anywhere in the tree; ``/json/version`` answers on
    no port named by a command line or by ``DevToolsActivePort``."""
    proc, home = recording
    tree = _browser_tree(proc, home)
    lines = [" ".join(cmdline(pid)) for pid in tree]
    assert [ln for ln in lines if "--remote-debugging-port" in ln] == []
    assert [ln for ln in lines if "--remote-debugging-pipe" in ln]
    assert {p: json_version(p) for p in candidate_ports(tree)} == {
        p: None for p in candidate_ports(tree)
    }


def test_the_port_attack_finds_nothing_to_attach_to_and_the_record_stays_clean(
    recording: tuple[subprocess.Popen[bytes], Path],
) -> None:
    """(c) The old attack (port from ``ps``, attach, rewrite the page) rewrites nothing; the
    session ends normally and its journal never contains the attacker's text."""
    proc, home = recording
    tree = _browser_tree(proc, home)
    assert attack(tree) == []
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    gone = wait_until(
        lambda: all(not Path(f"/proc/{p}").exists() or _zombie(p) for p in tree),
        what="every browser process to exit",
        timeout_s=30,
    )
    assert gone
    journal = b"".join(p.read_bytes() for p in (home / "journals").rglob("*") if p.is_file())
    assert MARKER.encode() not in journal


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_same_attack_takes_over_a_browser_that_listens_on_a_debugging_port() -> None:
    """Control: against Chromium started the old way (a loopback debugging port), the
    scan above sees its listening socket and the attacker finds the port on the command
    line and rewrites the page."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", f"--user-data-dir={profile}"]
            + [f"--remote-debugging-port={port}", "data:text/html,<p>AAPL</p>"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_until(lambda: page_listed(port), what="the debugging port's page", timeout_s=30)
            listening = listening_tcp()
            assert port in [listening[i] for i in socket_inodes(browser.pid) if i in listening]
            # the page may still be loading (no body yet) on the first try: retry until it is
            rewritten = wait_until(
                lambda: attack([browser.pid]), what="the attack to rewrite the page", timeout_s=30
            )
            assert rewritten == ["data:text/html,<p>AAPL</p>"]
        finally:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait()


def test_a_debugging_port_in_extra_args_is_refused() -> None:
    """Configuration cannot put the port back."""
    cfg = CaptureConfig(extra_args=["--remote-debugging-port=9222"])
    with pytest.raises(CaptureError) as err:
        browser_args(cfg, headless=True, user_data_dir=Path("/tmp/p"), as_root=False)
    assert err.value.message == "capture.extra_args: --remote-debugging-port is not allowed"
    args = browser_args(CaptureConfig(), headless=True, user_data_dir=Path("/p"), as_root=False)
    assert "--remote-debugging-pipe" in args and "--no-sandbox" not in args
    assert not [a for a in args if a.startswith("--remote-debugging-port")]
