"""kill -9 at random points of a real recording: nothing acknowledged is lost, the loss is a gap.

One point (:func:`run_point`): start the recording process (:mod:`agent.bench.crash_driver`:
headless Chromium on ``pages/crash.html``, a counter that changes every 20 ms, driven with
mouse moves, clicks and keys), wait until its DOM changes are acknowledged durable, wait a seeded
uniform delay, then SIGKILL the recording process and every process of its browser. Then do
what the next agent start does - :func:`agent.journal.recovery.recover_all` - and check:

* before recovery the segment verifies as far as everything acknowledged (status unsealed);
* after recovery ``verify --decrypt`` passes and the segment's status is ``recovered``;
* seqs run 0..N without a hole, every acknowledged seq and every acknowledged event is there;
* the counter's values in the journal run without a hole (nothing lost in the middle);
* the last record is a ``capture.gap`` with cause ``agent_crash`` from the last durable
  event's time to the recovery, and the kill lies inside it.

The loss window is kill time minus the capture time of the latest durable event: how much
capture the crash cost. ``sessiontape bench crash`` runs N points (:func:`run_bench`).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from agent.bench.harness import serve_pages
from agent.clock import SystemClock
from agent.errors import SessiontapeError
from agent.events import Record
from agent.journal.reader import iter_records
from agent.journal.recovery import recover_all
from agent.journal.store import list_sessions
from agent.keys import Keyring
from agent.seal.verify import verify_paths

ROOT = Path(__file__).resolve().parents[2]
PAGE = "crash.html"
COUNTER = re.compile(r"^c(\d+)$")
LIVE_TIMEOUT_S = 90.0


@dataclass
class Acks:
    """What the recording process was told is durable before it died."""

    through: int = -1
    events: Counter[tuple[str, int, int]] = field(default_factory=Counter)
    last_t_utc_ns: int = 0
    batches: list[tuple[int, int]] = field(default_factory=list)  # (ack time, newest event t)

    @property
    def live(self) -> bool:
        """True once the page's DOM changes (its counter) are being acknowledged durable."""
        return any(kind == "rrweb.mutation" for kind, _, _ in self.events)


def read_acks(path: Path) -> Acks:
    """Parse the acknowledgement file; a torn last line (killed mid-write) is ignored."""
    acks = Acks()
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_bytes().splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            entry = orjson.loads(line)
            acks.through = max(acks.through, int(entry["through"]))
            newest = 0
            for kind, t_utc, t_mono in entry["events"]:
                acks.events[(str(kind), int(t_utc), int(t_mono))] += 1
                newest = max(newest, int(t_utc))
            acks.batches.append((int(entry["at"]), newest))
            acks.last_t_utc_ns = max(acks.last_t_utc_ns, newest)
    return acks


@dataclass
class Point:
    """One kill: when, what the checks found, and the loss window."""

    seed: int
    delay_s: float
    failures: list[str] = field(default_factory=list)
    loss_ms: float | None = None
    ack_lag_ms: float | None = None
    acked_through: int = -1
    events: int = 0
    # Per acknowledged batch: ack time - its newest event's time; time since the previous ack.
    ack_latency_ms: list[float] = field(default_factory=list, repr=False)
    ack_interval_ms: list[float] = field(default_factory=list, repr=False)

    @property
    def passed(self) -> bool:
        return not self.failures


def _descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Chromium runs in its own session, so not its group)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_recording(proc: subprocess.Popen[bytes]) -> int:
    """SIGKILL the recording process, then its browser; return the kill time (UTC ns)."""
    tree = _descendants(proc.pid)
    groups = set()
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    t_kill = time.time_ns()
    os.kill(proc.pid, signal.SIGKILL)
    for group in groups - {os.getpgid(0)}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    return t_kill


def _start_driver(
    home: Path, url: str, acks: Path, seed: int, log: Path, config_env: dict[str, str]
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    env.update(config_env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "agent.bench.crash_driver", str(home), url, str(acks)]
            + ["--seed", str(seed)],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_live(proc: subprocess.Popen[bytes], acks: Path, timeout_s: float) -> str | None:
    """None once the recording acknowledged captured events; else why it never did."""
    deadline = time.monotonic() + timeout_s
    while not read_acks(acks).live:
        if proc.poll() is not None:
            return f"recording process exited ({proc.returncode}) before capturing"
        if time.monotonic() > deadline:
            return f"no captured event acknowledged within {timeout_s:g} s"
        time.sleep(0.05)
    return None


def run_point(
    workdir: Path,
    base_url: str,
    seed: int,
    window_s: float,
    config_env: dict[str, str] | None = None,
) -> Point:
    """Record, kill -9 after a seeded delay in [0, ``window_s``], recover, check.

    ``config_env``: configuration for the recording process, as ``SESSIONTAPE_*`` variables.
    """
    point = Point(seed, round(random.Random(seed).uniform(0.0, window_s), 3))
    home, acks = workdir / f"home-{seed}", workdir / f"acks-{seed}.jsonl"
    log = workdir / f"driver-{seed}.log"
    proc = _start_driver(home, f"{base_url}/{PAGE}", acks, seed, log, config_env or {})
    try:
        why = _wait_live(proc, acks, LIVE_TIMEOUT_S)
        if why is None:
            time.sleep(point.delay_s)
        t_kill = kill_recording(proc)
    finally:
        if proc.poll() is None:
            kill_recording(proc)
    if why is not None:
        point.failures.append(why)
        return point
    try:
        check_point(point, home, read_acks(acks), t_kill)
    except SessiontapeError as exc:  # a check that cannot even run is a failed point
        point.failures.append(f"{type(exc).__name__}: {exc}")
    return point


def check_point(point: Point, home: Path, acks: Acks, t_kill: int) -> None:
    """Recover the killed session and record in ``point`` every check that fails."""
    fail = point.failures.append
    point.acked_through = acks.through
    keyring = Keyring.load(home)
    sessions = list_sessions(home)
    if len(sessions) != 1:
        fail(f"{len(sessions)} sessions in the state directory, not 1")
        return
    session = sessions[0]
    sdir = session.segments[0].path.parent
    before = verify_paths([sdir], keyring.trust())
    last = before.segments[-1]
    if last.status != "unsealed":
        fail(f"before recovery the last segment is {last.status!r}, not 'unsealed'")
    if last.seq_last_verified is None or last.seq_last_verified < acks.through:
        fail(f"before recovery verifies to seq {last.seq_last_verified}, acked {acks.through}")
    recovered = recover_all(home, keyring, SystemClock())
    if recovered != [session.segments[-1].path]:
        fail(f"recovery sealed {[p.name for p in recovered]}")
    report = verify_paths([sdir], keyring.trust(), keyring=keyring, decrypt=True)
    if not report.ok or report.segments[-1].status != "recovered":
        fail(f"verify --decrypt: {report.first_failure or report.segments[-1].status}")
    records = [r for p in sorted(sdir.glob("*.stj")) for r in iter_records(p, keyring)]
    point.events = len(records)
    point.failures.extend(check_records(records, acks, t_kill))
    durable = records[:-1]
    if durable:
        point.loss_ms = round((t_kill - max(r.t_utc_ns for r in durable)) / 1e6, 1)
    point.ack_lag_ms = round((t_kill - acks.last_t_utc_ns) / 1e6, 1)
    point.ack_latency_ms = [round((at - t) / 1e6, 1) for at, t in acks.batches if t]
    ats = [at for at, _ in acks.batches]
    point.ack_interval_ms = [round((b - a) / 1e6, 1) for a, b in zip(ats, ats[1:], strict=False)]


def check_records(records: Sequence[Record], acks: Acks, t_kill: int) -> list[str]:
    """What is wrong with a recovered session's records, given the acks and the kill time."""
    out: list[str] = []
    seqs = [r.seq for r in records]
    if seqs != list(range(len(seqs))):
        out.append("seqs are not 0..N without a hole")
    gap = records[-1] if records else None
    if gap is None or gap.kind != "capture.gap" or gap.payload.get("cause") != "agent_crash":
        return [*out, "the last record is not a capture.gap (agent_crash)"]
    durable = records[:-1]
    if not durable:
        return [*out, "nothing before the crash gap"]
    if durable[-1].seq < acks.through:
        out.append(f"acknowledged seq {acks.through} missing (last {durable[-1].seq})")
    missing = acks.events - Counter((r.kind, r.t_utc_ns, r.t_mono_ns) for r in durable)
    if missing:
        out.append(f"{sum(missing.values())} acknowledged events missing, e.g. {min(missing)}")
    start, end = int(gap.payload["start"]), int(gap.payload["end"])
    if start != durable[-1].t_utc_ns:
        out.append("the crash gap does not start at the last durable event")
    if not start <= t_kill <= end:
        out.append("the kill is not inside the crash gap")
    values = counter_values(durable)
    holes = sorted(set(range(min(values), max(values) + 1)) - set(values)) if values else []
    if not values:
        out.append("no counter value in the journal")
    elif holes:
        out.append(f"counter values missing in the middle: {holes[:5]}")
    return out


def counter_values(records: Sequence[Record]) -> list[int]:
    """The page counter's values in the journal's DOM mutations, in record order."""
    seen: list[int] = []
    for r in records:
        if r.kind != "rrweb.mutation":
            continue
        for text in r.payload.get("data", {}).get("texts", []):
            m = COUNTER.match(str(text.get("value", "")))
            if m:
                seen.append(int(m.group(1)))
    return seen


def run_bench(
    points: int,
    *,
    seed: int = 1,
    window_s: float = 5.0,
    workdir: Path,
    config_env: dict[str, str] | None = None,
    progress: Callable[[Point], None] | None = None,
) -> dict[str, Any]:
    """Run ``points`` kills (seeds ``seed``, ``seed + 1``, ...); return the distribution."""
    done: list[Point] = []
    with serve_pages() as base_url:
        for i in range(points):
            point = run_point(workdir, base_url, seed + i, window_s, config_env)
            done.append(point)
            if progress is not None:
                progress(point)
    result = summarize(done)
    result["config_env"] = dict(config_env or {})
    result["window_s"] = window_s
    return result


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summarize(points: Sequence[Point]) -> dict[str, Any]:
    """Loss window p50/p95/p99/max over the points, pass count, and each failure."""
    loss = [p.loss_ms for p in points if p.loss_ms is not None]
    lag = [p.ack_lag_ms for p in points if p.ack_lag_ms is not None]
    return {
        "points": len(points),
        "passed": sum(p.passed for p in points),
        "loss_window_ms": _dist(loss),
        "unacknowledged_ms": _dist(lag),
        "ack_latency_ms": _dist([v for p in points for v in p.ack_latency_ms]),
        "ack_interval_ms": _dist([v for p in points for v in p.ack_interval_ms]),
        "failures": [
            {"seed": p.seed, "delay_s": p.delay_s, "failed": p.failures}
            for p in points
            if not p.passed
        ],
        "runs": [_run(p) for p in points],
    }


def _run(point: Point) -> dict[str, Any]:
    out = asdict(point)
    del out["ack_latency_ms"], out["ack_interval_ms"]
    return out


def _dist(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values, default=None),
    }


def iter_lines(result: dict[str, Any]) -> Iterator[str]:
    """The human-readable report."""
    yield f"points: {result['points']}, passed every check: {result['passed']}"
    yield "loss window, ms (kill - latest durable capture):  " + _fmt(result["loss_window_ms"])
    yield "kill - latest acknowledged capture, ms:           " + _fmt(result["unacknowledged_ms"])
    yield "ack latency, ms (ack - newest event in batch):    " + _fmt(result["ack_latency_ms"])
    yield "interval between acks, ms:                        " + _fmt(result["ack_interval_ms"])
    for f in result["failures"]:
        yield f"FAILED seed {f['seed']} (kill after {f['delay_s']} s): " + "; ".join(f["failed"])


def _fmt(dist: dict[str, float | None]) -> str:
    return "  ".join(f"{k} {v}" for k, v in dist.items())


def progress_line(point: Point) -> str:
    """One line per finished point, for the progress output."""
    state = "ok" if point.passed else "FAILED: " + "; ".join(point.failures)
    return f"seed {point.seed}: kill after {point.delay_s} s, loss {point.loss_ms} ms, {state}"
