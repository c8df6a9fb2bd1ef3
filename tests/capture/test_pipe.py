"""The CDP pipe: NUL framing across reads, answers and events, and a lost pipe."""

from __future__ import annotations

import asyncio
import fcntl
import os

import orjson
import pytest

from agent.capture.cdp import CDPConnection
from agent.capture.pipe import NulFramer, connect_pipes, widen_pipe
from agent.errors import CaptureError
from tests.waiting import wait_until_async


def _framed(*msgs: dict[str, object]) -> bytes:
    return b"".join(orjson.dumps(m) + b"\0" for m in msgs)


def test_framer_joins_a_message_split_across_reads_and_splits_several_in_one_read() -> None:
    """Bytes arrive in arbitrary pieces; every NUL ends exactly one message."""
    got: list[bytes] = []
    framer = NulFramer(got.append)
    data = _framed({"id": 1}, {"id": 2, "result": {"x": "a\u00e9"}}, {"method": "M"})
    framer.feed(data[:3])
    framer.feed(data[3:9])
    assert got == [b'{"id":1}']
    framer.feed(data[9:])
    assert [orjson.loads(m) for m in got] == [
        {"id": 1},
        {"id": 2, "result": {"x": "a\u00e9"}},
        {"method": "M"},
    ]
    assert framer.pending_bytes == 0
    framer.feed(b'{"id"')
    assert framer.pending_bytes == 5 and len(got) == 3


def test_commands_go_out_nul_terminated_and_answers_and_events_come_back() -> None:
    """Over real OS pipes: a command is written with its NUL; an answer split in two writes
    resolves it; an event reaches the handler with its session id."""

    async def main() -> None:
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()
        conn = await connect_pipes(ev_r, cmd_w)
        events: list[tuple[str, object, str | None]] = []
        conn.on_event(lambda m, p, s: events.append((m, p, s)))
        fut = conn.send_nowait("Browser.getVersion", {"a": 1}, "S1")
        await asyncio.sleep(0)
        sent = os.read(cmd_r, 4096)
        assert sent.endswith(b"\0") and sent.count(b"\0") == 1
        assert orjson.loads(sent[:-1]) == {
            "id": 1,
            "method": "Browser.getVersion",
            "params": {"a": 1},
            "sessionId": "S1",
        }
        answer = _framed({"id": 1, "result": {"product": "X"}}, {"method": "E", "params": {}})
        os.write(ev_w, answer[:7])
        await asyncio.sleep(0.01)
        assert not fut.done()
        os.write(ev_w, answer[7:] + _framed({"method": "F", "sessionId": "S2", "params": {}}))
        assert await asyncio.wait_for(fut, 5) == {"product": "X"}
        await asyncio.sleep(0.01)
        assert events == [("E", {}, None), ("F", {}, "S2")]
        await conn.close()
        for fd in (cmd_r, ev_w):
            os.close(fd)

    asyncio.run(main())


def test_a_lost_pipe_closes_the_connection_and_fails_pending_commands() -> None:
    """The browser's end closing (it died) sets ``closed`` and fails what was pending with
    "connection closed" - the path the session turns into a crash and a recorded gap."""

    async def main() -> None:
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()
        conn = await connect_pipes(ev_r, cmd_w)
        fut = conn.send_nowait("Page.navigate", {"url": "x"}, "S1")
        os.close(ev_w)
        await asyncio.wait_for(conn.closed.wait(), 5)
        with pytest.raises(CaptureError, match=r"^CDP Page.navigate: connection closed$"):
            await fut
        with pytest.raises(CaptureError, match=r"^CDP Runtime.evaluate: connection closed$"):
            await conn.send("Runtime.evaluate")
        await conn.close()
        os.close(cmd_r)

    asyncio.run(main())


def test_a_closed_connection_refuses_new_commands_at_once() -> None:
    """Without a transport nothing can be sent: the error is immediate, not a timeout."""

    async def main() -> None:
        conn = CDPConnection()
        with pytest.raises(CaptureError, match="connection closed"):
            await conn.send("Browser.getVersion", timeout=1)

    asyncio.run(main())


def test_the_event_pipe_is_widened_so_a_large_batch_arrives_in_one_read() -> None:
    """A 90 KB recorder batch fits the widened pipe: one write, one read, one message; a size
    the kernel refuses leaves the pipe as it was."""
    probe_r, probe_w = os.pipe()
    granted = widen_pipe(probe_r)
    os.close(probe_r)
    os.close(probe_w)
    if granted < 1024 * 1024:  # the agent then keeps the default pipe, as the end checks
        pytest.skip(f"this kernel grants a {granted}-byte pipe (pipe-max-size or user quota)")

    async def main() -> None:
        cmd_r, cmd_w = os.pipe()
        ev_r, ev_w = os.pipe()
        conn = await connect_pipes(ev_r, cmd_w)
        assert fcntl.fcntl(ev_r, fcntl.F_GETPIPE_SZ) >= 1024 * 1024
        sizes: list[int] = []
        conn.on_event(lambda m, p, s: sizes.append(len(str(p["payload"]))))
        big = _framed({"method": "Runtime.bindingCalled", "params": {"payload": "x" * 90_000}})
        os.set_blocking(ev_w, False)
        assert os.write(ev_w, big) == len(big)  # a 64 KiB pipe would take a partial write
        await wait_until_async(lambda: sizes, what="the batch", timeout_s=5)
        assert sizes == [90_000]
        await conn.close()
        for fd in (cmd_r, ev_w):
            os.close(fd)

    asyncio.run(main())
    r, w = os.pipe()
    try:
        before = fcntl.fcntl(r, fcntl.F_GETPIPE_SZ)
        os.write(w, b"x" * 8192)  # more than the smaller size asked for: refused (EBUSY)
        assert widen_pipe(r, 4096) == before
    finally:
        os.close(r)
        os.close(w)
