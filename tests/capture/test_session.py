"""Stopping a ``CaptureSession`` keeps the last input: what was typed right before the stop
reaches the sink, also from a document still loading (its recorder not started yet)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import orjson
import pytest

from tests.capture.servers import of_kind, recording, sites

pytestmark = pytest.mark.browser

TYPED = "ACC-7731-2290"


def test_keys_typed_right_before_stop_reach_the_sink(tmp_path: Path) -> None:
    """No wait between the last key and the stop: the recorder's final batch, holding the
    field's whole value, is handled before the browser closes."""

    async def go() -> list[str]:
        async with sites() as s, recording(tmp_path, s.a + "/field.html") as (cs, sink):
            await cs.page.type("#field", TYPED)
        return [str(e.payload["data"]["text"]) for e in of_kind(sink, "rrweb.input")]

    texts = asyncio.run(go())
    assert texts and texts[-1] == TYPED, texts


def test_stop_while_the_document_loads_records_what_was_typed(tmp_path: Path) -> None:
    """The page's DOMContentLoaded never comes before the stop (a script it waits for
    stalls): the final flush starts the recorder, whose snapshot holds the typed value."""

    async def go() -> tuple[str, list[bytes]]:
        async with sites() as s, recording(tmp_path) as (cs, sink):
            url = s.a + "/loading.html"
            await cs.page.send("Page.navigate", {"url": url})
            await cs.page.type("#field", TYPED)
            loading = await cs.page.evaluate("document.readyState")
        snaps = [orjson.dumps(e.payload) for e in of_kind(sink, "rrweb.full_snapshot")]
        return str(loading), snaps

    loading, snaps = asyncio.run(go())
    assert loading == "loading"
    assert any(b"/stall.js" in snap and TYPED.encode() in snap for snap in snaps), snaps


def test_objects_made_before_capture_starts_are_frozen_out_of_the_collector(
    tmp_path: Path,
) -> None:
    """Once the browser is instrumented, what start-up made (a marker object here) is out of
    the cyclic collector's generations, so full collections no longer walk it; a payload
    made while recording is still collected."""
    marker = ["made before start"]

    async def go() -> tuple[bool, bool]:
        async with sites() as s, recording(tmp_path, s.a + "/field.html") as (_cs, _sink):
            during = ["made while recording"]
            tracked = {id(o) for o in gc.get_objects()}
            return id(marker) in tracked, id(during) in tracked

    gc.unfreeze()
    assert id(marker) in {id(o) for o in gc.get_objects()}
    marker_tracked, during_tracked = asyncio.run(go())
    assert not marker_tracked and during_tracked
    assert gc.get_freeze_count() > 0
