"""Waiting for a condition in tests: poll it, and fail with a clear message after a generous
deadline (never a fixed sleep standing in for "it has probably happened by now")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None], *, what: str, timeout_s: float = 60.0, step_s: float = 0.1
) -> T:
    """Poll ``condition()`` until it returns a truthy value, and return that value; after
    ``timeout_s`` fail naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(step_s)
    return value


async def wait_until_async(
    condition: Callable[[], T | None], *, what: str, timeout_s: float = 60.0, step_s: float = 0.05
) -> T:
    """:func:`wait_until` for a coroutine: the event loop keeps running while it waits."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(step_s)
    return value
