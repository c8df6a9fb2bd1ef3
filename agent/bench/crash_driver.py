"""The recording process the crash benchmark kills: capture -> mask -> journal of one page.

    python -m agent.bench.crash_driver HOME URL ACKS --seed N [--max-seconds S]

It records ``URL`` in headless Chromium through :class:`agent.pipeline.Recording` (the same
wiring as ``sessiontape record``) and drives the page like a user (mouse moves, clicks,
typing), seeded. Its one addition is the acknowledgement file ``ACKS``: each time capture's
sink returns - *None means durable* - one JSON line is appended with a single ``write``:
``{"through": S, "at": T, "events": [[kind, t_utc_ns, t_mono_ns], ...]}``, where ``S`` is the
highest seq the journal had committed at that moment, ``T`` the moment (UTC ns) and ``events``
the batch just acknowledged. The
kernel keeps what ``write`` returned even when the process is killed, so after a SIGKILL the
file lists everything the recorder was told is durable. The process is meant to die by
SIGKILL; after ``--max-seconds`` it closes the session normally instead. Configuration comes
from the environment only (``SESSIONTAPE_CAPTURE_FLUSH_MS=20`` and the like), never a file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import string
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from agent.capture.driver_page import PageDriver
from agent.capture.session import CaptureSession
from agent.config import load_config
from agent.events import Event
from agent.journal.journal import Journal
from agent.logs import configure_quiet
from agent.pipeline import Recording
from agent.sink import EventSink

STEP_S = 0.05  # one user action every 50 ms: moves, clicks, keystrokes
_NOT_CONFIG = ("SESSIONTAPE_CONFIG", "SESSIONTAPE_HOME")  # the driver reads no config file


class AckingSink:
    """Passes batches to ``inner``; once it returned (durable), appends an ack line to ``fd``."""

    def __init__(self, inner: EventSink, journal: Journal, fd: int) -> None:
        self._inner = inner
        self._journal = journal
        self._fd = fd

    async def append_many(self, events: Sequence[Event]) -> None:
        """Append durably, then acknowledge the batch and the committed seq watermark."""
        await self._inner.append_many(events)
        line = {
            "through": self._journal.next_seq - 1,
            "at": time.time_ns(),
            "events": [[e.kind, e.t_utc_ns, e.t_mono_ns] for e in events],
        }
        os.write(self._fd, orjson.dumps(line) + b"\n")


async def drive(page: PageDriver, rng: random.Random) -> None:
    """Act like a user on the crash page until cancelled: move, click, type, clear."""
    await page.wait_for_selector("#field")
    typed = 0
    while True:
        await page.mouse.move(rng.randint(5, 700), rng.randint(5, 500))
        roll = rng.random()
        if roll < 0.15:
            await page.click("#btn")
        elif roll < 0.45:
            await page.focus("#field")
            await page.press(rng.choice(string.ascii_lowercase))
            typed += 1
            if typed >= 40:
                await page.fill("#field", "")
                typed = 0
        await asyncio.sleep(STEP_S)


async def record(home: Path, url: str, acks: Path, seed: int, max_seconds: float) -> None:
    """Record ``url`` while driving it, acknowledging every durable batch to ``acks``."""
    config = load_config(env={k: v for k, v in os.environ.items() if k not in _NOT_CONFIG})
    rec = Recording(home, config)
    fd = os.open(acks, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    cap = CaptureSession(
        config.capture,
        AckingSink(rec.sink, rec.journal, fd),
        rec.clock,
        home,
        headless=True,
        mask=rec.page_mask_config(),
        relaunch=False,
    )
    rec.attach_capture(cap)
    try:
        await cap.start(url)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drive(cap.page, random.Random(seed)), max_seconds)
    finally:
        await cap.stop()
        await asyncio.to_thread(rec.close)
        os.close(fd)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and record until killed (or ``--max-seconds``)."""
    parser = argparse.ArgumentParser(prog="python -m agent.bench.crash_driver")
    parser.add_argument("home", type=Path)
    parser.add_argument("url")
    parser.add_argument("acks", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args(argv)
    configure_quiet()
    asyncio.run(record(args.home, args.url, args.acks, args.seed, args.max_seconds))


if __name__ == "__main__":
    main()
