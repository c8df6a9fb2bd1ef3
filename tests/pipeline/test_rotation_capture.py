"""Rotation with a real headless Chromium whose pages change their DOM continuously.

Two tabs each append a ``<p>vN</p>`` every few milliseconds (N counting up, nodes kept). The
recording rotates mid-stream. The new session must stand on its own: for each tab it holds a
full snapshot the rotation asked for, and from that snapshot on it shows every value from 0
up to the last one the tab wrote - including every value the old session saw - with no hole.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.capture.session import CaptureSession
from agent.config import load_config
from agent.events import Record
from agent.journal.reader import iter_records
from agent.journal.store import find_session
from agent.keys import Keyring
from agent.pipeline import Recording
from agent.rrweb import EventType
from agent.seal.verify import verify_paths
from tests.pipeline.site import serve_page
from tests.waiting import wait_until_async

PAGE = b"""<!doctype html><html><body><div id="log"></div>
<script>let n = 0; const log = document.getElementById('log');
const timer = setInterval(() => { const p = document.createElement('p'); p.textContent = 'v' + n;
  log.appendChild(p); n++; }, 5);</script>
</body></html>"""

VALUE = re.compile(r"^v(\d+)$")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_page(tmp_path_factory.mktemp("site"), PAGE) as url:
        yield url


def _values(node: Any) -> Iterator[int]:
    """Every ``vN`` text in a serialized rrweb node tree."""
    if isinstance(node, dict):
        m = VALUE.match(str(node.get("textContent", "")))
        if m:
            yield int(m.group(1))
        for child in node.get("childNodes", []):
            yield from _values(child)


def _seen(records: list[Record]) -> set[int]:
    """Values in full snapshots and in added nodes."""
    out: set[int] = set()
    for r in records:
        data = r.payload.get("data", {})
        if r.kind == "rrweb.full_snapshot":
            out.update(_values(data.get("node")))
        elif r.kind == "rrweb.mutation":
            for add in data.get("adds", []):
                out.update(_values(add.get("node")))
    return out


def _requested_snapshot_at(records: list[Record], page: str) -> int:
    """Index of the full snapshot the rotation asked of ``page`` (a ``requested`` keyframe)."""
    for i, r in enumerate(records):
        if r.page == page and r.kind == "rrweb.custom":
            data = r.payload.get("data", {})
            if (
                data.get("tag") == "sessiontape.keyframe"
                and data.get("payload", {}).get("reason") == "requested"
            ):
                return max(j for j in range(i) if records[j].page == page and _is_full(records[j]))
    raise AssertionError(f"no requested snapshot of page {page} in the new session")


def _is_full(r: Record) -> bool:
    return r.kind == "rrweb.full_snapshot" and r.payload.get("type") == EventType.FULL_SNAPSHOT


async def _record(rec: Recording, home: Path, site: str) -> tuple[str, str, dict[str, int]]:
    """Record two tabs, rotate mid-stream; (old id, new id, each tab's last value by page)."""
    cfg = rec.config
    cap = CaptureSession(cfg.capture, rec.sink, rec.clock, home, headless=True, relaunch=False)
    rec.attach_capture(cap)
    await cap.start(site)
    second = await cap.driver.new_page()
    await second.goto(site)
    pages = [cap.page, second]

    async def counts() -> list[int]:
        return [int(await p.evaluate("n")) for p in pages]

    async def all_past(k: int) -> bool:
        return min(await counts()) >= k

    await _wait(lambda: all_past(100), "both tabs to write 100 values")
    old = rec.session_id
    new = await rec.rotate("rotation")
    at_rotation = await counts()
    await _wait(lambda: all_past(max(at_rotation) + 100), "100 more values after the rotation")
    await asyncio.gather(*(p.evaluate("clearInterval(timer), 0") for p in pages))
    final = await counts()
    await cap.stop()  # the recorders' last batches reach the sink before it returns
    assert old != new
    return old, new, {p.target_id: n - 1 for p, n in zip(pages, final, strict=True)}


async def _wait(check: Any, what: str) -> None:
    done: list[bool] = []

    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.05)
        done.append(True)

    task = asyncio.create_task(poll())
    await wait_until_async(lambda: done or task.done(), what=what, timeout_s=60)
    await task


def test_rotation_with_chromium_gives_the_new_session_a_snapshot_of_every_tab(
    home: Path, site: str
) -> None:
    cfg = load_config(env={})
    rec = Recording(home, cfg)
    old, new, final = asyncio.run(_record(rec, home, site))
    result = rec.close()
    kr = Keyring.load(home)

    def records(sid: str) -> list[Record]:
        return [r for s in find_session(home, sid).segments for r in iter_records(s.path, kr)]

    a, b = records(old), records(new)
    assert sorted({str(r.page) for r in b if _is_full(r)}) == sorted(final)
    for tab, last in final.items():
        start = _requested_snapshot_at(b, tab)
        on_its_own = _seen([r for r in b[start:] if r.page == tab])
        in_old = _seen([r for r in a if r.page == tab])
        assert in_old, f"the old session recorded tab {tab}"
        assert on_its_own == set(range(last + 1)), f"tab {tab}: a hole in the new session"
        assert in_old <= on_its_own, f"tab {tab}: the new session misses what the old one saw"
    assert rec.rotated[0].report.ok, rec.rotated[0].report.first_failure
    assert result.report.ok, result.report.first_failure
    report = verify_paths([home / "journals"], kr.trust())
    assert report.ok, report.first_failure
    assert [c.ok for c in report.checks if c.name == "link"] == [True]
