"""The arms of ``sessiontape bench capture``: one workload page, one recorder, one fresh browser.

* ``none``: the page in Chromium driven by Playwright, nothing recording it (the baseline);
* ``sessiontape``: the full agent - :class:`agent.pipeline.Recording` (mask -> journal ->
  seal, in a home of its own) behind a :class:`CaptureSession` on its own browser; also
  measured: this process's CPU time over the window (the agent: capture, masking, journal
  and its writer thread), split by thread (the event loop, the journal writer, the
  checkpoint stream, the rest: :func:`thread_cpu_s`), and the stored journal bytes of the
  window;
* ``rrweb``: rrweb 2.2.2 alone (:mod:`agent.bench.peer`), its raw JSON over the window;
* ``tracing``: Playwright tracing (:mod:`agent.bench.tracing_peer`), its trace zip.

Every arm measures busy time per update with :func:`agent.bench.busy.measure_busy`; the
window's ends are marked by its probe (wall clock, monotonic clock, process CPU time).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from playwright.async_api import BrowserContext, CDPSession, Page, async_playwright

from agent.bench.blotter import Blotter, captured_cells, share_pct
from agent.bench.blotter import Page as BlotterPage
from agent.bench.busy import BusySample, measure_busy
from agent.bench.peer import PEER_NAME, peer_events, peer_source
from agent.capture.browser import browser_args
from agent.capture.bundle import WORLD_NAME
from agent.capture.config import CaptureConfig, find_executable
from agent.capture.session import CaptureSession
from agent.config import Config
from agent.errors import CaptureError
from agent.events import Event
from agent.journal.reader import SegmentFile, iter_records
from agent.pipeline import Recording

THREAD_PARTS = {"MainThread": "loop", "journal-writer": "journal", "checkpoint-stream": "stream"}
"""The agent's threads whose CPU is reported apart (the rest of the process is ``other``)."""


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds so far of each of :data:`THREAD_PARTS`' threads alive in this process (the
    per-thread clock, nanosecond resolution), by part."""
    out: dict[str, float] = {}
    for t in threading.enumerate():
        part = THREAD_PARTS.get(t.name)
        if part is None or t.ident is None:
            continue
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            out[part] = out.get(part, 0.0) + time.clock_gettime(time.pthread_getcpuclockid(t.ident))
    return out


@dataclass
class Marks:
    """Both ends of a measured window, read by :func:`measure_busy`'s probe."""

    utc_ns: list[int] = field(default_factory=list)
    mono: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    threads: list[dict[str, float]] = field(default_factory=list)

    async def probe(self) -> float:
        """Mark one end of the window."""
        self.utc_ns.append(time.time_ns())
        self.mono.append(time.monotonic())
        self.cpu.append(time.process_time())
        self.threads.append(thread_cpu_s())
        return 0.0

    def thread_ms(self) -> dict[str, float]:
        """CPU ms over the window by part: each of :data:`THREAD_PARTS` alive at both ends, and
        ``other`` (the process's CPU time less theirs)."""
        a, b = self.threads[0], self.threads[1]
        out = {k: 1000.0 * (b[k] - a[k]) for k in b if k in a}
        out["other"] = 1000.0 * (self.cpu[1] - self.cpu[0]) - sum(out.values())
        return out

    @property
    def seconds(self) -> float:
        """The window's length (monotonic clock)."""
        return self.mono[1] - self.mono[0]

    @property
    def cpu_pct(self) -> float:
        """This process's CPU time over the window, % of one core."""
        return 100.0 * (self.cpu[1] - self.cpu[0]) / self.seconds


@dataclass
class ArmRun:
    """One arm's run: the busy sample and what its recording stored.

    ``stored_bytes`` covers ``stored_s`` seconds and ``stored_updates`` page updates: the
    measured window (ours: journal bytes; rrweb: raw JSON), or the whole run (tracing: the zip
    holds no per-window split).
    """

    sample: BusySample
    stored_bytes: int | None = None
    stored_s: float | None = None
    stored_updates: int | None = None
    agent_cpu_pct: float | None = None
    agent_cpu_ms: float | None = None
    changes_captured_pct: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bytes_per_hour(self) -> int | None:
        """Stored bytes scaled to one recorded hour."""
        if self.stored_bytes is None or not self.stored_s:
            return None
        return int(self.stored_bytes * 3600 / self.stored_s)

    @property
    def bytes_per_update(self) -> float | None:
        """Stored bytes per page update (the same page work for every arm, however much the
        arm slowed the page down)."""
        if self.stored_bytes is None or not self.stored_updates:
            return None
        return self.stored_bytes / self.stored_updates


def unrecorded_args(cfg: CaptureConfig, user_data_dir: Path) -> list[str]:
    """The command line of the agent's own headless browser (:func:`browser_args`), for a
    browser Playwright drives with none of its own defaults.

    Every arm must run the same browser: Playwright's default switches made the order-entry
    form's own work about 4 % heavier than the agent's command line did (measured: the form
    under the agent with an empty recorder 0.95-0.96x of Playwright's defaults, Playwright
    with the agent's switches 0.97x), which a ``none`` arm on Playwright's defaults credited
    to the agent as a lighter recording."""
    return browser_args(cfg, headless=True, user_data_dir=user_data_dir, as_root=os.geteuid() == 0)


@contextlib.asynccontextmanager
async def unrecorded(cfg: CaptureConfig) -> AsyncIterator[BrowserContext]:
    """The agent's Chromium binary on the agent's own command line, driven by Playwright,
    nobody recording (none, rrweb, tracing run here)."""
    with tempfile.TemporaryDirectory(prefix="sessiontape-bench-") as profile:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=find_executable(cfg.executable),
                headless=True,
                ignore_default_args=True,
                args=unrecorded_args(cfg, Path(profile)),
            )
            try:
                yield await browser.new_context(
                    viewport={"width": cfg.viewport_width, "height": cfg.viewport_height}
                )
            finally:
                await browser.close()


async def open_page(blotter: Blotter, page: BlotterPage, timeout_s: float = 60.0) -> None:
    """Log in if the workload needs it, load the workload's page and wait for its first
    update: on a loaded machine a page (AG Grid's 2 MB script) can take longer to start than
    the warm-up, and its load must not fall into the measured window."""
    await blotter.prepare(page)
    if blotter.name != "demo":
        await page.goto(blotter.url, wait_until="domcontentloaded")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await page.evaluate(f"({blotter.counter}) > 0"):
        if loop.time() > deadline:
            raise CaptureError(f"{blotter.url} made no update within {timeout_s:g} s")
        await asyncio.sleep(0.05)


async def run_none(cfg: CaptureConfig, blotter: Blotter, seconds: float, warmup: float) -> ArmRun:
    """The baseline: the page, nothing recording."""
    async with unrecorded(cfg) as ctx:
        page = await ctx.new_page()
        await open_page(blotter, page)
        cdp = await ctx.new_cdp_session(page)
        sample = await measure_busy(cdp, seconds=seconds, warmup_s=warmup, counter=blotter.counter)
    return ArmRun(sample)


# -- sessiontape: the full agent ---------------------------------------------------------------
def journal_window_bytes(segments: list[Path], t0_ns: int, t1_ns: int) -> dict[str, int]:
    """Stored bytes of a sealed session, and the share of them the window ``[t0, t1]`` took.

    ``file_bytes`` is every file of the session's directory on disk. A chunk belongs to the
    window when its events (header ``t0``..``t1``, UTC ns) lie inside it; the window's stored
    bytes are the file bytes times the window chunks' share of all chunk bytes (header,
    ciphertext, leaf, chain), so SQLite's pages, checkpoints, genesis and seal are spread
    over the chunks in proportion.
    """
    folder = segments[0].parent
    file_bytes = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    total = window = 0
    for path in segments:
        seg = SegmentFile(path)
        try:
            for row in seg.iter_chunks():
                size = len(row.header_bytes) + len(row.ciphertext) + len(row.leaf) + len(row.chain)
                total += size
                if t0_ns <= int(row.header["t0"]) and int(row.header["t1"]) <= t1_ns:
                    window += size
        finally:
            seg.close()
    share = window / total if total else 0.0
    return {"file_bytes": file_bytes, "window_bytes": int(file_bytes * share)}


async def run_sessiontape(
    config: Config, blotter: Blotter, seconds: float, warmup: float, home: Path
) -> ArmRun:
    """The workload under the full agent, in a fresh home and browser."""
    home = home / f"run-{secrets.token_hex(4)}"
    rec = Recording(home, config)
    cap = CaptureSession(
        config.capture, rec.sink, rec.clock, home, headless=True,
        mask=rec.page_mask_config(), relaunch=False,
    )  # fmt: skip
    rec.attach_capture(cap)
    marks = Marks()
    started = time.monotonic()
    try:
        await cap.start(None)
        page = cap.page
        await open_page(blotter, page)
        sample = await measure_busy(
            page, seconds=seconds, warmup_s=warmup, counter=blotter.counter, probe=marks.probe
        )
        updates = int(await page.evaluate(blotter.counter))
        expected = await blotter.changes(page, updates) if blotter.changes else None
    finally:
        await cap.stop()
        result = await asyncio.to_thread(rec.close)
    stored = journal_window_bytes(result.segments, marks.utc_ns[0], marks.utc_ns[1])
    run = ArmRun(
        sample,
        stored_bytes=stored["window_bytes"],
        stored_s=marks.seconds,
        stored_updates=sample.updates,
        agent_cpu_pct=marks.cpu_pct,
        agent_cpu_ms=1000.0 * (marks.cpu[1] - marks.cpu[0]),
        extra={
            **stored,
            "run_s": time.monotonic() - started,
            "events": result.events,
            **{
                f"agent_cpu_ms_per_update_{part}": ms / max(1, sample.updates)
                for part, ms in marks.thread_ms().items()
            },
        },
    )
    if expected and blotter.table_id is not None:
        events = [
            Event(r.kind, r.payload, 0, 0)
            for path in result.segments
            for r in iter_records(path, rec.keyring)
        ]
        run.changes_captured_pct = share_pct(expected, captured_cells(events, blotter.table_id))
    return run


# -- rrweb 2.2.2 alone ---------------------------------------------------------------------------
async def _inject_rrweb(cdp: CDPSession, messages: list[str]) -> None:
    """rrweb in the recorder's isolated world, shipping through a private binding."""
    binding = "__st_" + secrets.token_hex(8)

    def on_binding(params: dict[str, Any]) -> None:
        if params.get("name") == binding:
            messages.append(str(params["payload"]))

    cdp.on("Runtime.bindingCalled", on_binding)
    await cdp.send("Page.enable")
    await cdp.send("Runtime.enable")
    await cdp.send("Runtime.addBinding", {"name": binding, "executionContextName": WORLD_NAME})
    await cdp.send(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": peer_source(binding), "worldName": WORLD_NAME, "runImmediately": True},
    )


def rrweb_window_bytes(messages: list[str], t0_ms: float, t1_ms: float) -> dict[str, int]:
    """Bytes of rrweb's events as one JSON array: all of them, and those whose ``timestamp``
    (ms since the epoch) lies in the window."""
    events = [e for raw in messages for e in orjson.loads(raw)]
    window = [e for e in events if t0_ms <= float(e.get("timestamp", 0)) <= t1_ms]
    return {"raw_json_bytes": len(orjson.dumps(events)), "window_bytes": len(orjson.dumps(window))}


async def run_rrweb(cfg: CaptureConfig, blotter: Blotter, seconds: float, warmup: float) -> ArmRun:
    """The workload recorded by rrweb 2.2.2 alone, in a fresh browser."""
    messages: list[str] = []
    marks = Marks()
    async with unrecorded(cfg) as ctx:
        page: Page = await ctx.new_page()
        cdp = await ctx.new_cdp_session(page)
        await _inject_rrweb(cdp, messages)
        await open_page(blotter, page)
        sample = await measure_busy(
            cdp, seconds=seconds, warmup_s=warmup, counter=blotter.counter, probe=marks.probe
        )
        updates = int(await page.evaluate(blotter.counter))
        expected = await blotter.changes(page, updates) if blotter.changes else None
        await asyncio.sleep(0.5)  # the window's last batches (one per 100 ms) arrive
    stored = rrweb_window_bytes(messages, marks.utc_ns[0] / 1e6, marks.utc_ns[1] / 1e6)
    if not stored["window_bytes"] or stored["window_bytes"] <= 2:
        raise CaptureError(f"{PEER_NAME} sent nothing during the measured window")
    run = ArmRun(sample, stored["window_bytes"], marks.seconds, sample.updates, extra=stored)
    if expected and blotter.table_id is not None:
        got = captured_cells(peer_events(messages), blotter.table_id)
        run.changes_captured_pct = share_pct(expected, got)
    return run
