"""Rotating a live recording into a new linked session: nothing lost, nothing repeated.

Real journal, real keys, real SQLite and the system clock; producers write through
``Recording.sink`` (masking -> session switch -> group-commit journal sink) concurrently while
the rotation runs.

Adjacency, as asserted here: number every ``append_many`` call in the order producers make
it (``g``). Session A holds exactly the calls numbered up to some ``K`` and session B exactly
those after ``K``, each in call order; in A nothing is written between the last produced event
and ``session.end`` (consecutive seqs), in B nothing between ``session.start`` (seq 0) and the
first produced event (seq 1); and A's last produced event is not later (UTC) than B's first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.clock import SystemClock
from agent.config import Config
from agent.events import Event, Record
from agent.journal.reader import iter_records
from agent.journal.session import PreviousSession
from agent.journal.store import find_session
from agent.pipeline import Recording
from agent.seal.verify import verify_paths
from tests.waiting import wait_until_async

ROOT = Path(__file__).resolve().parents[2]
PRODUCERS = 4
BATCH = 5


def _records(home: Path, session_id: str, keyring: Any) -> list[Record]:
    info = find_session(home, session_id)
    return [r for s in info.segments for r in iter_records(s.path, keyring)]


class Producers:
    """``PRODUCERS`` tasks appending ``clock.tick`` batches as fast as the sink takes them."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.calls = 0  # g: the number of the next append_many call
        self.sent = [0] * PRODUCERS
        self.stop = False
        self.clock = SystemClock()

    async def run(self, p: int) -> None:
        while not self.stop:
            g = self.calls
            self.calls += 1
            batch = [self._event(p, self.sent[p] + i, g) for i in range(BATCH)]
            self.sent[p] += BATCH
            await self.rec.sink.append_many(batch)

    def _event(self, p: int, n: int, g: int) -> Event:
        return Event(
            "clock.tick", {"p": p, "n": n, "g": g}, self.clock.utc_ns(), self.clock.mono_ns()
        )


async def _rotate_under_load(rec: Recording, before: int, after: int) -> tuple[str, Producers]:
    prod = Producers(rec)
    tasks = [asyncio.create_task(prod.run(p)) for p in range(PRODUCERS)]
    await wait_until_async(lambda: prod.calls >= before, what=f"{before} appends before rotating")
    new_id = await rec.rotate("rotation")
    mark = prod.calls
    await wait_until_async(lambda: prod.calls >= mark + after, what=f"{after} appends after")
    prod.stop = True
    await asyncio.gather(*tasks)
    return new_id, prod


def _produced(records: list[Record]) -> list[Record]:
    return [r for r in records if r.kind == "clock.tick"]


def test_rotation_under_concurrent_appends_loses_and_repeats_nothing(
    home: Path, cfg: Config
) -> None:
    """Every event lands once; A and B split the calls at one point and are adjacent."""
    rec = Recording(home, cfg)
    old_id = rec.session_id
    new_id, prod = asyncio.run(_rotate_under_load(rec, before=300, after=300))
    result = rec.close()
    assert rec.session_id == new_id != old_id
    assert rec.switch.waited >= 1  # writes did arrive while the rotation held the switch
    a, b = _records(home, old_id, rec.keyring), _records(home, new_id, rec.keyring)
    pa, pb = _produced(a), _produced(b)
    # Exactly once, in order, per producer: A's part then B's part is everything it sent.
    for p in range(PRODUCERS):
        ns = [r.payload["n"] for r in pa + pb if r.payload["p"] == p]
        assert ns == list(range(prod.sent[p])), f"producer {p}"
    # One split point in call order: every call before it in A, every call after it in B.
    ga, gb = [r.payload["g"] for r in pa], [r.payload["g"] for r in pb]
    assert ga == sorted(ga) and gb == sorted(gb)
    assert ga and gb and gb[0] == ga[-1] + 1
    # Adjacent: nothing between A's last produced event and its end, nor between B's start
    # and its first produced event; A's last is not later than B's first.
    assert [r.kind for r in a[-2:]] == ["clock.tick", "session.end"]
    assert a[-1].seq == a[-2].seq + 1
    assert a[-1].payload == {"reason": "rotation", "next_session": new_id}
    assert [(r.seq, r.kind) for r in b[:2]] == [(0, "session.start"), (1, "clock.tick")]
    assert pa[-1].t_utc_ns <= pb[0].t_utc_ns
    assert a[-1].t_utc_ns <= b[0].t_utc_ns  # A ended before B began
    # Both verify, and the link from B to A verifies.
    assert rec.rotated[0].session_id == old_id and rec.rotated[0].report.ok
    assert result.session_id == new_id and result.report.ok
    report = verify_paths([home / "journals"], rec.keyring.trust(), keyring=rec.keyring)
    assert report.ok, report.first_failure
    links = [c for c in report.checks if c.name == "link"]
    assert [(c.ok, c.detail) for c in links] == [
        (True, f"session {new_id} follows session {old_id} (rotation): its last seal matches")
    ]
    link = b[0].payload["previous_session"]
    assert link == {
        "session_id": old_id,
        "seal_hash": find_session(home, old_id).segments[-1].seal_hash_hex,
        "reason": "rotation",
    }


def test_two_rotations_chain_three_sessions(home: Path, cfg: Config) -> None:
    """Rotating twice links C to B to A; verify checks both links."""

    async def run() -> list[str]:
        rec_ids = [rec.session_id]
        for _ in range(2):
            await rec.sink.append_many([Producers(rec)._event(0, 0, 0)])
            rec_ids.append(await rec.rotate("rotation"))
        return rec_ids

    rec = Recording(home, cfg)
    ids = asyncio.run(run())
    rec.close()
    report = verify_paths([home / "journals"], rec.keyring.trust())
    assert report.ok, report.first_failure
    linked = sorted(c.detail.split()[1:5:3] for c in report.checks if c.name == "link" and c.ok)
    assert linked == sorted([[ids[1], ids[0]], [ids[2], ids[1]]])


# --- a new recording links to the previous one -----------------------------------------------
def _run_writer_and_kill(home: Path, acks: int) -> str:
    """The journal writer of ``tests/journal/writer_proc.py`` in a subprocess, killed with
    SIGKILL after ``acks`` acknowledged appends; its session id."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "journal" / "writer_proc.py"), str(home)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    session = proc.stdout.readline().split()[1]
    for _ in range(acks):
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return session


def _one_event(rec: Recording) -> None:
    asyncio.run(rec.sink.append_many([Producers(rec)._event(0, 0, 0)]))


def test_start_after_kill_9_recovers_seals_and_links_as_recovered(home: Path, cfg: Config) -> None:
    """Agent killed -> the next start seals the crashed session and continues linked to it."""
    crashed = _run_writer_and_kill(home, acks=20)
    assert not find_session(home, crashed).sealed
    rec = Recording(home, cfg, link_previous=True)
    _one_event(rec)
    rec.close()
    old = find_session(home, crashed)
    assert old.segments[-1].seal_reason == "recovered"
    link = _records(home, rec.session_id, rec.keyring)[0].payload["previous_session"]
    assert link == {
        "session_id": crashed,
        "seal_hash": old.segments[-1].seal_hash_hex,
        "reason": "recovered",
    }
    report = verify_paths([home / "journals"], rec.keyring.trust())
    assert report.ok, report.first_failure
    assert [c.ok for c in report.checks if c.name == "link"] == [True]


def test_start_after_an_abandoned_recording_links_as_recovered(home: Path, cfg: Config) -> None:
    """A recording that stopped without sealing (what a crash leaves, in-process)."""
    first = Recording(home, cfg)
    _one_event(first)
    first.journal_sink.flush_and_stop()
    first.journal.abandon()
    second = Recording(home, cfg, link_previous=True)
    assert second.meta.previous is not None
    assert (second.meta.previous.session_id, second.meta.previous.reason) == (
        first.session_id,
        "recovered",
    )
    second.close()
    assert verify_paths([home / "journals"], second.keyring.trust()).ok


def test_start_after_a_normal_end_links_as_restart_and_record_stays_unlinked(
    home: Path, cfg: Config
) -> None:
    first = Recording(home, cfg)
    first.close()
    unlinked = Recording(home, cfg)  # what record and demo do
    unlinked.close()
    assert (
        _records(home, unlinked.session_id, unlinked.keyring)[0].payload["previous_session"] is None
    )
    linked = Recording(home, cfg, link_previous=True)
    linked.close()
    assert linked.meta.previous == PreviousSession(
        unlinked.session_id,
        find_session(home, unlinked.session_id).segments[-1].seal_hash_hex,
        "restart",
    )


def test_aclose_during_a_rotation_waits_for_it_and_seals_the_new_session(
    home: Path, cfg: Config
) -> None:
    async def run() -> tuple[str, str]:
        first = rec.session_id
        await rec.sink.append_many([Producers(rec)._event(0, 0, 0)])
        rotation = asyncio.create_task(rec.rotate("rotation"))
        await asyncio.sleep(0)  # the rotation holds the switch
        assert rec.switch.holding
        result = await rec.aclose("logout")
        return first, result.session_id if (await rotation) == result.session_id else ""

    rec = Recording(home, cfg)
    first, second = asyncio.run(run())
    assert second and second != first
    assert find_session(home, first).segments[-1].seal_reason == "closed"
    end = _records(home, second, rec.keyring)[-1]
    assert (end.kind, end.payload) == ("session.end", {"reason": "logout"})
    assert verify_paths([home / "journals"], rec.keyring.trust()).ok
