"""Mutation check of the verifier: every small change to it must fail a tamper test.

``python -m tests.mutation.mutate [--json] [--jobs N] [--list] [FILES...]`` generates the
mutants of each file (:mod:`tests.mutation.mutants`; by default the verifier:
``agent/seal/verify.py``, ``verify_checks.py``, ``verify_sessions.py``, ``checkpoint.py``,
``chain.py``) and, for each, writes the mutated module into a private copy of the repository
(``agent/``, ``tests/``, ``config/``, ``pyproject.toml`` in a temp dir; the real tree is
never touched), then runs the tamper tests there with ``pytest -x -q`` under a per-mutant
timeout, with the copy first on ``PYTHONPATH`` so the subprocesses the tests start import
the mutant too. A mutant is *killed* when a test fails, *timed out* when the run exceeds the
timeout (also a detection), and *survived* when every test passes. Mutants listed in
:mod:`tests.mutation.equivalent` cannot change behaviour; they are not run and are reported
apart.

Prints a table per file, the score (killed + timed out over the non-equivalent mutants) and
each survivor as ``file:line`` with the mutated expression; ``--json`` prints the same as
JSON. Exits 1 when a mutant survives or the unmutated tests fail, 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.mutation.equivalent import EQUIVALENT
from tests.mutation.mutants import Mutant, apply, iter_all

ROOT = Path(__file__).resolve().parents[2]
TARGETS = [
    "agent/seal/verify.py",
    "agent/seal/verify_checks.py",
    "agent/seal/verify_sessions.py",
    "agent/seal/checkpoint.py",
    "agent/seal/chain.py",
]
TAMPER_TESTS = [
    # fastest first: with -x a run stops at the first failure
    "tests/seal/test_verify.py",
    "tests/seal/test_verify_tamper.py",
    "tests/seal/test_verify_session.py",
    "tests/seal/test_verify_sessions.py",
    "tests/seal/test_checkpoint.py",
    "tests/attacks/test_erasure.py",
    "tests/attacks/test_forgery.py",
    "tests/seal/test_chain.py",
    "tests/seal/test_merkle.py",
    "tests/journal",
    "tests/cli/test_journal_cli.py",
]
COPIED = ["agent", "tests", "config", "pyproject.toml"]
MAX_JOBS = 2
_RUNNING: set[int] = set()
"""Process groups of the pytest runs under way (ended if the tool is interrupted)."""


@dataclass
class Outcome:
    """What running the tamper tests against one mutant gave."""

    mutant: Mutant
    status: str
    """``killed``, ``timeout``, ``survived`` or ``equivalent``."""
    seconds: float = 0.0
    killed_by: str = ""
    reason: str = ""
    """Why the mutant is equivalent (``equivalent`` only)."""


def _copy_tree(dest: Path) -> Path:
    """A private copy of what the tests import, without bytecode caches."""
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "node_modules")
            )
        else:
            shutil.copy2(src, dest / name)
    # Bytecode for the unmutated modules, keyed to their copied mtimes: a mutated module is
    # written later (another mtime), so its stale bytecode is never used.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest / "agent")], check=True)
    return dest


def _pytest(copy: Path, tests: list[str], timeout: float) -> tuple[str, float, str]:
    """Run the tests in ``copy``: (status, seconds, first failing test)."""
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    t0 = time.monotonic()
    proc = subprocess.Popen(  # its own process group, so a timeout can end all of it
        cmd,
        cwd=copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    _RUNNING.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the pytest run and every process it started
        proc.communicate()
        return "timeout", time.monotonic() - t0, ""
    finally:
        _RUNNING.discard(proc.pid)
    seconds = time.monotonic() - t0
    if proc.returncode == 0:
        return "survived", seconds, ""
    failed = [ln.split()[1] for ln in out.splitlines() if ln.startswith(("FAILED ", "ERROR "))]
    return "killed", seconds, failed[0] if failed else f"pytest exit {proc.returncode}"


def _run_one(
    mutant: Mutant, copies: queue.Queue[Path], tests: list[str], timeout: float
) -> Outcome:
    copy = copies.get()
    target = copy / mutant.path
    original = target.read_bytes()
    try:
        target.write_text(apply(ROOT, mutant), encoding="utf-8")
        status, seconds, killed_by = _pytest(copy, tests, timeout)
    finally:
        target.write_bytes(original)
        copies.put(copy)
    return Outcome(mutant, status, seconds, killed_by)


def run(
    mutants: list[Mutant], tests: list[str], jobs: int, timeout: float | None, log: bool
) -> tuple[list[Outcome], float]:
    """Run every non-equivalent mutant; returns the outcomes and the baseline run's seconds."""
    jobs = max(1, min(jobs, MAX_JOBS))
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        copies: queue.Queue[Path] = queue.Queue()
        for i in range(jobs):
            copies.put(_copy_tree(Path(tmp) / f"w{i}"))
        base = copies.get()
        status, baseline, failed = _pytest(base, tests, timeout or 900.0)
        copies.put(base)
        if status != "survived":
            raise SystemExit(f"the unmutated tests do not pass ({status}: {failed})")
        limit = timeout or max(60.0, 3 * baseline)
        todo = [m for m in mutants if m.key not in EQUIVALENT]
        outcomes = [
            Outcome(m, "equivalent", reason=EQUIVALENT[m.key])
            for m in mutants
            if m.key in EQUIVALENT
        ]
        with ThreadPoolExecutor(jobs) as pool:
            futures = [pool.submit(_run_one, m, copies, tests, limit) for m in todo]
            for n, fut in enumerate(futures, 1):
                o = fut.result()
                outcomes.append(o)
                if log:
                    print(
                        f"[{n}/{len(todo)}] {o.status:8} {o.seconds:5.1f}s {o.mutant.where} "
                        f"{o.mutant.before} -> {o.mutant.after}",
                        file=sys.stderr,
                    )
    order = {m.key: i for i, m in enumerate(mutants)}
    outcomes.sort(key=lambda o: order[o.mutant.key])
    return outcomes, baseline


STATUSES = ("killed", "timeout", "survived", "equivalent")


def summary(outcomes: list[Outcome]) -> dict[str, dict[str, int]]:
    """Counts by status, per file and in total (``mutants`` counts every generated mutant)."""
    rows: dict[str, dict[str, int]] = {}
    for o in outcomes:
        for name in (o.mutant.path, "total"):
            row = rows.setdefault(name, dict.fromkeys(("mutants", *STATUSES), 0))
            row["mutants"] += 1
            row[o.status] += 1
    total = rows.pop("total", dict.fromkeys(("mutants", *STATUSES), 0))
    return {**rows, "total": total}


def score(row: dict[str, int]) -> float:
    """Detected (killed or timed out) over the mutants that can change behaviour."""
    live = row["mutants"] - row["equivalent"]
    return 1.0 if live == 0 else (row["killed"] + row["timeout"]) / live


def render(outcomes: list[Outcome], stale: list[str], seconds: float) -> str:
    """The human report: table, score, survivors, equivalents, stale equivalence entries."""
    rows = summary(outcomes)
    head = f"{'file':34} {'mutants':>7} {'killed':>7} {'timeout':>7} {'survived':>8} {'equiv':>6}"
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        lines.append(
            f"{name:34} {r['mutants']:7} {r['killed']:7} {r['timeout']:7} {r['survived']:8} "
            f"{r['equivalent']:6}"
        )
    total = rows["total"]
    detected = total["killed"] + total["timeout"]
    lines.append(
        f"\nscore: {detected}/{total['mutants'] - total['equivalent']} killed "
        f"({score(total):.1%}), {total['equivalent']} equivalent, {seconds:.0f} s"
    )
    for title, status in (("survived", "survived"), ("equivalent", "equivalent")):
        picked = [o for o in outcomes if o.status == status]
        if picked:
            lines.append(f"\n{title}:")
            for o in picked:
                m = o.mutant
                why = f"  ({o.reason})" if o.reason else ""
                lines.append(f"  {m.where} [{m.kind}] {m.before} -> {m.after}{why}")
    if stale:
        lines.append("\nequivalence entries matching no mutant (remove them):")
        lines.extend(f"  {k}" for k in stale)
    return "\n".join(lines)


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m tests.mutation.mutate", description=__doc__)
    ap.add_argument("files", nargs="*", default=TARGETS, help="modules to mutate (repo paths)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--jobs", type=int, default=MAX_JOBS, help="parallel runs (at most 2)")
    ap.add_argument("--timeout", type=float, help="seconds per mutant (default 3x baseline)")
    ap.add_argument("--tests", nargs="+", default=TAMPER_TESTS, help="test paths to run")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return ap.parse_args(argv)


def _interrupted(signum: int, frame: object) -> None:
    raise SystemExit(f"interrupted by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Generate, run and report; 1 when a mutant survived."""
    a = _args(argv)
    mutants = list(iter_all(ROOT, a.files))
    keys = {m.key for m in mutants}
    stale = sorted(k for k in EQUIVALENT if k not in keys and k.split("::")[0] in a.files)
    if a.list:
        for m in mutants:
            mark = "  (equivalent)" if m.key in EQUIVALENT else ""
            print(f"{m.where} [{m.kind}] {m.before} -> {m.after}{mark}")
        print(f"{len(mutants)} mutants")
        return 0
    tests = [t for t in a.tests if (ROOT / t).exists()]
    t0 = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        outcomes, _ = run(mutants, tests, a.jobs, a.timeout, not a.quiet)
    finally:
        for pgid in list(_RUNNING):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
    seconds = time.monotonic() - t0
    if a.json:
        report = {
            "files": a.files,
            "tests": tests,
            "seconds": round(seconds, 1),
            "summary": summary(outcomes),
            "score": score(summary(outcomes)["total"]),
            "stale_equivalents": stale,
            "mutants": [
                {**asdict(o.mutant), **{k: v for k, v in asdict(o).items() if k != "mutant"}}
                for o in outcomes
            ],
        }
        print(json.dumps(report, indent=2))
    else:
        print(render(outcomes, stale, seconds))
    return 1 if any(o.status == "survived" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
