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


def test_start_up_objects_are_frozen_out_of_the_collector_once_per_process(
    tmp_path: Path,
) -> None:
    """Once the first session's browser is instrumented, what start-up made (a marker object
    here) is out of the cyclic collector's generations, so full collections no longer walk
    it; what is made while recording, and what a later session starts with, stay tracked."""

    async def go(made_before: list[str]) -> tuple[bool, bool]:
        async with sites() as s, recording(tmp_path, s.a + "/field.html") as (_cs, _sink):
            during = ["made while recording"]
            tracked = {id(o) for o in gc.get_objects()}
            return id(made_before) in tracked, id(during) in tracked

    gc.unfreeze()
    first = ["made before the first start"]
    assert id(first) in {id(o) for o in gc.get_objects()}
    assert asyncio.run(go(first)) == (False, True)
    frozen = gc.get_freeze_count()
    assert frozen > 0
    second = ["made before the second start"]
    assert asyncio.run(go(second)) == (True, True)
    assert gc.get_freeze_count() <= frozen  # frozen objects freed since, none added
