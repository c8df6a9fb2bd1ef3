"""One owner for capture's background tasks.

``asyncio`` keeps only a weak reference to a task, so a fire-and-forget task can be collected
while it runs, and its exception surfaces (if at all) whenever the garbage collector gets to it.
``TaskSpawner`` holds every task it starts until the task ends, reports an exception through the
event loop's exception handler the moment the task fails (the channel asyncio itself reports an
unretrieved task exception on), and can wait for or cancel whatever is left at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TaskSpawner:
    """Start background tasks, keep them alive until they finish, report their failures."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        """Schedule ``coro`` now; it is kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._reap)
        return task

    def _reap(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            task.get_loop().call_exception_handler(
                {
                    "message": f"capture task {task.get_name()} failed",
                    "exception": exc,
                    "task": task,
                }
            )

    def __len__(self) -> int:
        return len(self._tasks)

    async def aclose(self, grace: float = 0.0) -> None:
        """Let running tasks finish for up to ``grace`` seconds, then cancel the rest."""
        if self._tasks and grace > 0:
            await asyncio.wait(set(self._tasks), timeout=grace)
        pending = set(self._tasks)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # a failure is still reported, by ``_reap``
        self._tasks -= pending
