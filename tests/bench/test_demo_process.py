"""The demo app served from a child process for the capture benchmarks."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest

from agent.bench.demo_process import demo_app_process
from agent.demo_app import data


def test_the_child_serves_the_demo_app_and_is_gone_after_the_block() -> None:
    """The login page answers at the URL the child reports, from another process, with the
    default blotter seed; once the block ends nothing listens there any more."""

    async def main() -> tuple[int, str, int, str, int]:
        async with demo_app_process() as server, aiohttp.ClientSession() as http:
            async with http.get(server.url) as resp:
                status, body = resp.status, await resp.text()
            url, seed, pid = server.url, server.seed, server.pid
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectionError):
                await http.get(url)
        return status, body, seed, url, pid

    status, body, seed, url, pid = asyncio.run(main())
    assert status == 200
    assert 'id="username"' in body
    assert seed == data.DEFAULT_SEED
    assert url.startswith("http://127.0.0.1:")
    assert pid != os.getpid()
