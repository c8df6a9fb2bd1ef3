"""The recording notice in the real window title of a headful Chromium (under Xvfb), read
with xdotool as a window manager or a screen reader would."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.capture.config import NOTICE_TEXT
from tests.capture.servers import of_kind, recording, sites
from tests.waiting import wait_until_async

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool"
    ),
]

PREFIX = f"[{NOTICE_TEXT}] "


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private Xvfb server; DISPLAY points at it for the browser the test launches."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    display = f":{number}"
    monkeypatch.setenv("DISPLAY", display)
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


def window_names(display: str) -> list[str]:
    env = {**os.environ, "DISPLAY": display}
    run = subprocess.run
    ids = run(
        ["xdotool", "search", "--onlyvisible", "--class", "chromium"],
        env=env,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [
        run(["xdotool", "getwindowname", w], env=env, capture_output=True, text=True).stdout.strip()
        for w in ids
    ]


def test_window_title_carries_the_notice_and_the_record_does_not(
    tmp_path: Path, display: str
) -> None:
    """The window title starts with the notice, also after the page sets its own title; the
    page.title event (read from the page at load, prefix already there) holds the page's
    title without it."""

    async def go() -> tuple[str, str, list[str]]:
        async with (
            sites() as s,
            recording(tmp_path, s.a + "/plain.html", headless="false", indicator="both") as (
                cs,
                sink,
            ),
        ):

            def titled(want: str) -> str | None:
                names = [n for n in window_names(display) if n.startswith(PREFIX + want)]
                return names[0] if names else None

            first = await wait_until_async(
                lambda: titled("Plain"), what="prefixed window title", timeout_s=20
            )
            await cs.page.evaluate("document.title = 'Nothing to see'")
            second = await wait_until_async(
                lambda: titled("Nothing to see"),
                what="prefix back on the page's title",
                timeout_s=20,
            )
            titles = [str(e.payload["title"]) for e in of_kind(sink, "page.title")]
        return first, second, titles

    first, second, titles = asyncio.run(go())
    assert first == PREFIX + "Plain - Chromium"
    assert second == PREFIX + "Nothing to see - Chromium"
    assert titles == ["Plain"]
