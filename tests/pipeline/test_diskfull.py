"""``sessiontape record`` with real Chromium on a home that fills up mid-session.

The home is a real tmpfs (see :mod:`tests.fsfull`); the test fills it while the page keeps
producing events, frees it, and stops the recording: the command must end (a timeout fails
the test), and the session must verify and hold a ``capture.gap`` with cause ``disk_full``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.capture.session import CaptureSession
from agent.clock import SystemClock
from agent.config import load_config
from agent.errors import SessiontapeError
from agent.events import Record
from agent.journal.reader import iter_records
from agent.journal.recovery import recover_all, segment_paths
from agent.keys import Keyring
from agent.pipeline import Recording
from agent.rrweb import MouseInteraction
from agent.seal.segment_file import SegmentFile
from agent.seal.verify import verify_paths
from tests.fsfull import SmallFs
from tests.pipeline.site import serve_page
from tests.waiting import wait_until, wait_until_async

ROOT = Path(__file__).resolve().parents[2]

TICKING = b"""<!doctype html><html><body><span id="n">0</span>
<script>let n = 0; setInterval(() => {
  document.getElementById('n').textContent = String(++n); }, 20);</script>
</body></html>"""


@pytest.fixture(scope="module")
def ticking_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_page(tmp_path_factory.mktemp("site"), TICKING) as url:
        yield url


class Recorder:
    """``sessiontape record`` in a subprocess, its stderr collected line by line."""

    def __init__(self, home: Path, url: str, env: dict[str, str] | None = None) -> None:
        e = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
        e.update(env or {}, PYTHONPATH=str(ROOT))
        self.home = home
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli.main", "--home", str(home)]
            + ["record", url, "--headless"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=e,
        )
        self.err: list[str] = []
        self.out: list[str] = []
        assert self.proc.stderr is not None and self.proc.stdout is not None
        # One reader per stream: communicate() would read stderr too and take lines from us.
        self._readers = [
            threading.Thread(target=lambda s=s, to=to: to.extend(s), daemon=True)
            for s, to in ((self.proc.stderr, self.err), (self.proc.stdout, self.out))
        ]
        for t in self._readers:
            t.start()

    def logged(self, text: str) -> bool:
        """``text`` in the agent's log: its file, or stderr where lines go when the file is
        full (a line still fits in the file's last page now and then)."""
        log = self.home / "logs" / "agent.log"
        return any(text in line for line in list(self.err)) or (
            log.exists() and text in log.read_text(errors="replace")
        )

    def segments(self) -> list[Path]:
        return [p for d in (self.home / "journals").glob("*") for p in segment_paths(d)]

    def chunks(self) -> int:
        """Chunks committed so far (read from the live segments, no decryption)."""
        n = 0
        for p in self.segments():
            seg = SegmentFile(p)
            try:
                n += sum(1 for _ in seg.iter_chunks())
            finally:
                seg.close()
        return n

    def stop(self, timeout: float = 120) -> tuple[int, str]:
        """SIGINT (Ctrl-C), then wait; a recording that does not end fails the test."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"record did not end within {timeout:g} s; stderr: {''.join(self.err)}")
        for t in self._readers:
            t.join(timeout=10)
        return self.proc.returncode, "".join(self.out)


def _records(home: Path) -> list[Record]:
    keyring = Keyring.load(home)
    sdirs = list((home / "journals").glob("*"))
    return [r for d in sdirs for p in segment_paths(d) for r in iter_records(p, keyring)]


def test_record_whose_home_fills_mid_session_ends_verified_with_a_disk_full_gap(
    small_fs: Callable[[int], SmallFs], ticking_site: str
) -> None:
    """best_effort: capture goes on through the outage; the loss is one disk_full gap."""
    fs = small_fs(32 * 1024)
    home = fs.path / "home"
    rec = Recorder(home, ticking_site)
    try:
        wait_until(lambda: rec.chunks() >= 5, what="the first chunks committed")
        fs.fill()
        wait_until(lambda: rec.logged("journal.commit_failed"), what="a refused commit")
        first = rec.chunks()
        fs.free()
        wait_until(lambda: rec.chunks() > first + 3, what="commits after space returned")
    finally:
        code, out = rec.stop()
    err = "".join(rec.err)
    assert code == 0, err
    assert "Traceback" not in err
    recs = _records(home)
    gaps = [r.payload for r in recs if r.kind == "capture.gap"]
    assert [g["cause"] for g in gaps] == ["disk_full"], gaps
    assert gaps[0]["lost_events"] >= 1 and gaps[0]["start"] <= gaps[0]["end"]
    assert [r.seq for r in recs] == list(range(len(recs)))
    assert recs[-1].kind == "session.end"
    report = verify_paths(
        [home / "journals"], Keyring.load(home).trust(), keyring=Keyring.load(home)
    )
    assert report.ok, report.first_failure


def test_record_closed_while_the_disk_is_still_full_ends_naming_the_segment_and_recovers(
    small_fs: Callable[[int], SmallFs], ticking_site: str
) -> None:
    """Ctrl-C on a full disk: exit 2 with one line naming the unsealed segment; once space
    returns the next start's recovery seals it with a disk_full gap that counts the loss."""
    fs = small_fs(32 * 1024)
    home = fs.path / "home"
    rec = Recorder(home, ticking_site)
    try:
        wait_until(lambda: rec.chunks() >= 5, what="the first chunks committed")
        fs.fill()
        wait_until(lambda: rec.logged("journal.commit_failed"), what="a refused commit")
    finally:
        code, _ = rec.stop()
    errors = [line for line in rec.err if line.startswith("sessiontape: error:")]
    assert code == 2, "".join(rec.err)
    assert len(errors) == 1 and "cannot seal: no space left on device" in errors[0], rec.err
    (segment,) = rec.segments()
    assert str(segment) in errors[0]
    assert "Traceback" not in "".join(rec.err)
    fs.free()
    assert recover_all(home, Keyring.load(home), SystemClock()) == [segment]
    recs = _records(home)
    gaps = [r.payload for r in recs if r.kind == "capture.gap"]
    assert [g["cause"] for g in gaps] == ["disk_full"], gaps
    assert gaps[0]["lost_events"] >= 1
    report = verify_paths(
        [home / "journals"], Keyring.load(home).trust(), keyring=Keyring.load(home)
    )
    assert report.ok, report.first_failure


STRICT_PAGE = b"""<!doctype html><html><body>
<button id="b" style="width:200px;height:80px">press</button><span id="n">0</span>
<script>let n = 0; document.getElementById('b').addEventListener('click',
 () => { n++; document.getElementById('n').textContent = String(n); });</script>
</body></html>"""

# Resolves after the page rendered two more frames: input dispatched before it was handled.
_TWO_FRAMES = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(0))))"


def test_strict_mode_blocks_the_browser_while_the_disk_is_full_and_loses_nothing(
    small_fs: Callable[[int], SmallFs], tmp_path: Path
) -> None:
    """A real full disk under strict durability: input blocked, then unblocked once space
    returns; every event is written (no gap) and the session verifies."""
    fs = small_fs(32 * 1024)
    home = fs.path / "home"
    cfg = load_config(env={"SESSIONTAPE_JOURNAL_DURABILITY": "strict"})
    rec = Recording(home, cfg)
    assert rec.strict is not None

    async def scenario(url: str) -> tuple[str, str]:
        cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
        rec.attach_capture(cap)
        await cap.start(url)
        page = cap.page
        await page.click("#b")
        engine = await wait_until_async(lambda: cap.engine, what="the capture engine")
        fs.fill()
        await wait_until_async(lambda: engine.blocked_reason, what="input to be blocked")
        await page.mouse.click(100, 40)  # would hit the button; the browser ignores it
        await page.evaluate(_TWO_FRAMES)
        during = await page.inner_text("#n")
        fs.free()
        await wait_until_async(lambda: engine.blocked_reason is None, what="input to resume")
        await page.click("#b")
        after = await page.inner_text("#n")
        await cap.stop()
        return during, after

    (tmp_path / "site").mkdir()
    with serve_page(tmp_path / "site", STRICT_PAGE) as url:
        during, after = asyncio.run(scenario(url))
    result = rec.close()
    assert (during, after) == ("1", "2")
    assert rec.strict.blocks >= 1
    assert result.report.ok, result.report.first_failure
    recs = _records(home)
    reasons = [r.payload.get("reason") for r in recs if r.kind == "capture.degraded"]
    assert "durability_block" in reasons and "durability_unblock" in reasons
    assert not [r for r in recs if r.kind == "capture.gap"]  # strict: nothing was lost
    clicks = [
        r
        for r in recs
        if r.kind == "rrweb.mouse_interaction"
        and r.payload.get("data", {}).get("type") == MouseInteraction.CLICK
    ]
    assert len(clicks) == 2


def test_a_recording_started_on_a_full_home_fails_in_one_line_and_starts_once_freed(
    small_fs: Callable[[int], SmallFs],
) -> None:
    """No truncated key or segment is left to block the next start: once freed, it records."""
    fs = small_fs(1024)
    home = fs.path / "home"
    Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    fs.fill()
    for _ in range(2):  # the same clear refusal each time, not a broken leftover
        with pytest.raises(SessiontapeError, match="no space left on device") as info:
            Recording(home, cfg)
        assert "\n" not in info.value.message
    fs.free()
    rec = Recording(home, cfg)
    result = rec.close()
    assert result.report.ok, result.report.first_failure
    assert [r.kind for r in _records(home)] == ["session.start", "session.end"]
