"""A real desktop for workstation tests: an Xvfb display, the trader's keyboard (xdotool), a
site that logs the trader in with a cookie, and ``sessiontape agent`` as a subprocess."""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.journal.reader import iter_records
from agent.journal.store import list_sessions
from agent.keys import Keyring
from agent.workstation.display import display_problem
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def free_display(start: int = 3000) -> int:
    """A display number nobody serves (high: away from what xvfb-run and desktops pick)."""
    for n in range(start, start + 1000):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError(f"no free X display number in {start}-{start + 999}")


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """Start Xvfb on a display it picks itself (``-displayfd``: no race with other tests
    starting theirs); yield ``:N`` once its socket answers; stop it."""
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", "1600x1200x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(w,),
    )
    os.close(w)
    try:
        with os.fdopen(r) as chosen:
            number = chosen.readline().strip()  # written once the server listens
        assert number.isdigit(), f"Xvfb did not report its display (exit {proc.poll()})"
        name = f":{number}"
        wait_until(
            lambda: display_problem({"DISPLAY": name}) is None,
            what=f"Xvfb {name} to answer",
            timeout_s=20,
        )
        yield name
    finally:
        proc.terminate()
        proc.wait(10)


class Desktop:
    """The trader at the keyboard of display ``display``, through xdotool (real X input)."""

    def __init__(self, display: str) -> None:
        self.display = display

    def xdo(self, *args: str) -> str:
        env = {**os.environ, "DISPLAY": self.display}
        p = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=30)
        return p.stdout

    def browser_windows(self) -> list[str]:
        """Ids of the browser's real windows (titled ``... - Chromium``)."""
        ids = self.xdo("search", "--onlyvisible", "--name", " - Chromium$").split()
        return ids

    def window(self) -> str:
        """The browser window, focused (there is no window manager to do it)."""
        wid = wait_until(
            lambda: next(reversed(self.browser_windows()), None),
            what="a browser window",
            timeout_s=30,
        )
        self.xdo("windowfocus", "--sync", wid)
        return wid

    def key(self, *keys: str) -> None:
        self.window()
        self.xdo("key", "--delay", "60", *keys)

    def type_url(self, url: str) -> None:
        """Ctrl+L, type ``url`` into the omnibox, Enter: what a trader does."""
        self.key("ctrl+l")
        self.xdo("type", "--delay", "15", url)
        self.xdo("key", "Return")

    def resize(self, width: int, height: int) -> None:
        self.xdo("windowsize", "--sync", self.window(), str(width), str(height))


class LoginSite:
    """127.0.0.1 pages: ``/login`` sets a persistent session cookie; every request is logged
    with the cookie it carried."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                cookie = self.headers.get("Cookie") or ""
                site.seen.append((self.path, cookie))
                body = (
                    f"<!doctype html><title>page {self.path}</title>"
                    f"<body><p>cookie: {cookie or 'none'}</p></body>"
                ).encode()
                self.send_response(200)
                if self.path.startswith("/login"):
                    self.send_header("Set-Cookie", "sid=trader-7; Max-Age=86400; Path=/")
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self._srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._srv.server_address[1]}"
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()

    def cookie_on(self, path: str) -> str | None:
        """The cookie the last request for ``path`` carried (None: never requested)."""
        hits = [c for p, c in self.seen if p == path]
        return hits[-1] if hits else None

    def close(self) -> None:
        self._srv.shutdown()


@dataclass
class Agent:
    """``sessiontape agent`` running in a subprocess of its own session."""

    proc: subprocess.Popen[str]
    out_path: Path
    err_path: Path
    home: Path
    lines: list[str] = field(default_factory=list)

    def out(self) -> str:
        return self.out_path.read_text()

    def err(self) -> str:
        return self.err_path.read_text()

    def session(self) -> str:
        """The id of the session this agent records (from its ``recording session`` line)."""
        prefix = "sessiontape agent: recording session "
        return wait_until(
            lambda: next(
                (ln[len(prefix) :] for ln in self.out().splitlines() if ln.startswith(prefix)),
                None,
            ),
            what="the agent to open its session",
            timeout_s=60,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig``, wait for the exit; the exit code."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(30)


def start_agent(
    home: Path, display: str | None, tmp: Path, *args: str, env: dict[str, str] | None = None
) -> Agent:
    """``python -m agent.cli.main --home HOME agent ARGS`` on ``display``."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONTAPE_", "AWS_"))}
    e.pop("DISPLAY", None)
    e.pop("WAYLAND_DISPLAY", None)
    if display is not None:
        e["DISPLAY"] = display
    e["PYTHONPATH"] = str(ROOT)
    e.update(env or {})
    n = len(list(tmp.glob("agent-*.out")))
    out, err = tmp / f"agent-{n}.out", tmp / f"agent-{n}.err"
    with out.open("w") as o, err.open("w") as r:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.main", "--home", str(home), "agent", *args],
            env=e,
            stdout=o,
            stderr=r,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
    return Agent(proc, out, err, home)


def records(home: Path, session_id: str) -> list[Any]:
    """Every record of ``session_id`` written so far (open segments too)."""
    kr = Keyring.load(home)
    out: list[Any] = []
    for s in list_sessions(home):
        if s.session_id == session_id:
            for seg in s.segments:
                out.extend(iter_records(seg.path, kr))
    return out


def find(home: Path, session_id: str, kind: str, **payload: Any) -> list[Any]:
    """The records of ``kind`` whose payload has every ``payload`` item."""
    try:
        recs = records(home, session_id)
    except Exception:  # a chunk being written right now: the next poll reads it
        return []
    return [
        r for r in recs if r.kind == kind and all(r.payload.get(k) == v for k, v in payload.items())
    ]


def browser_pid(profile: Path) -> int | None:
    """The pid of the browser running on ``profile`` (its process group leader)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        helper = any(a.startswith(b"--type=") for a in argv)  # renderer, GPU, zygote...
        if f"--user-data-dir={profile}".encode() in argv and not helper:
            return int(entry.name)
    return None


def verify(home: Path, session_id: str) -> Any:
    """The verify report of ``session_id`` as written (decrypting, like ``Recording.result``)."""
    from agent.seal.verify import verify_paths

    kr = Keyring.load(home)
    (info,) = [s for s in list_sessions(home) if s.session_id == session_id]
    return verify_paths([info.segments[0].path.parent], kr.trust(), keyring=kr, decrypt=True)


def indexed_sessions(home: Path) -> int:
    """How many sessions the home's local index holds (0 while it does not exist yet)."""
    from agent.config import load_config
    from agent.index.indexer import open_index

    try:
        ix = open_index(home, load_config(home=home), readonly=True)
    except Exception:
        return 0
    try:
        return int(ix.stats().sessions)
    finally:
        ix.close()
