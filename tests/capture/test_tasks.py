"""TaskSpawner: background tasks are kept alive, their failures reported, and closed at stop."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest


def test_spawned_task_runs_to_completion_even_if_the_caller_drops_it() -> None:
    """The spawner holds the only reference; a collection does not lose the task."""
    from agent.capture.tasks import TaskSpawner

    async def main() -> list[str]:
        done: list[str] = []
        spawner = TaskSpawner()

        async def work() -> None:
            await asyncio.sleep(0.01)
            done.append("ran")

        spawner.spawn(work())
        gc.collect()
        await asyncio.sleep(0.05)
        assert len(spawner) == 0  # reaped once finished
        return done

    assert asyncio.run(main()) == ["ran"]


def test_a_failing_task_is_reported_to_the_loop_exception_handler_with_its_exception() -> None:
    """Nothing is swallowed: the failure reaches the handler asyncio reports task errors to."""
    from agent.capture.tasks import TaskSpawner

    async def main() -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, c: seen.append(c))
        spawner = TaskSpawner()

        async def boom() -> None:
            raise ValueError("broken")

        spawner.spawn(boom(), name="boom")
        await asyncio.sleep(0.01)
        return seen

    seen = asyncio.run(main())
    assert len(seen) == 1
    assert isinstance(seen[0]["exception"], ValueError)
    assert "boom" in seen[0]["message"]


@pytest.mark.parametrize("grace", [0.0, 0.2])
def test_aclose_lets_quick_tasks_finish_within_grace_and_cancels_the_rest(grace: float) -> None:
    """At stop a task that ends within ``grace`` completes; one that never ends is cancelled."""
    from agent.capture.tasks import TaskSpawner

    async def main() -> tuple[bool, bool, int]:
        spawner = TaskSpawner()
        quick = spawner.spawn(asyncio.sleep(0.05))
        forever = spawner.spawn(asyncio.Event().wait())
        await spawner.aclose(grace)
        return quick.cancelled(), forever.cancelled(), len(spawner)

    quick_cancelled, forever_cancelled, left = asyncio.run(main())
    assert quick_cancelled is (grace == 0.0)
    assert forever_cancelled is True
    assert left == 0
