"""The demo app served from a child process, so a benchmark's agent CPU is the agent's alone.

The capture benchmarks report the agent process's CPU time. The server that feeds the blotter
is not the agent (in production it is another machine), and at 1000 cells per 50 ms the demo
app's ticks (seeded random prices, then JSON) cost about 7 % of a core: served from the agent's
process they would be counted as capture. ``python -m agent.bench.demo_process`` starts the
app, writes one JSON line ``{"url": ..., "seed": ..., "pid": ...}`` to its standard output (its
logs go to standard error) and serves until its standard input is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from agent.errors import CaptureError

_START_S = 30.0  # how long the child may take to import and listen
_STOP_S = 10.0  # how long it may take to stop once its standard input is closed


@dataclass(frozen=True, slots=True)
class DemoServer:
    """Where the child's demo app listens, the seed of its blotter ticks, the child's pid."""

    url: str
    seed: int
    pid: int


@contextlib.asynccontextmanager
async def demo_app_process() -> AsyncIterator[DemoServer]:
    """``async with demo_app_process() as server:`` the demo app in a child process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent.bench.demo_process",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), _START_S)
        if not line:
            raise CaptureError(f"demo app process exited before serving (code {proc.returncode})")
        info = json.loads(line)
        yield DemoServer(str(info["url"]), int(info["seed"]), int(info["pid"]))
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), _STOP_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _serve() -> None:
    from agent.demo_app.server import running_demo_app

    out, sys.stdout = sys.stdout, sys.stderr  # logs to stderr: stdout carries the one line
    async with running_demo_app() as app:
        line = {"url": app.url, "seed": app.seed, "pid": os.getpid()}
        print(json.dumps(line), file=out, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)


if __name__ == "__main__":
    asyncio.run(_serve())
