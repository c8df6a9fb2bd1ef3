"""The ``sessiontape`` arm of ``sessiontape bench capture``, in a process of its own.

The agent's CPU figure is the CPU time of the process the agent runs in, over the measured
window, so nothing else may have run in that process before: measured in the benchmark's own
process, the 1000-cell blotter's agent CPU read about 6.4 % after the rrweb arm had run there
and about 4.9 % after no peer (four runs each, 2026-12-07), for the same agent and page.

The parent (:func:`run_isolated`) sends the arm's settings as one JSON object on stdin; the
child (``python -m agent.bench.capture_child``) opens the workload itself, runs
:func:`agent.bench.capture_arms.run_sessiontape` and prints the :class:`ArmRun` as one JSON
line on stdout. Its log lines and errors go to the parent's stderr.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from agent.bench.busy import BusySample
from agent.bench.capture_arms import ArmRun, run_sessiontape
from agent.bench.workloads import open_workload
from agent.config import Config
from agent.errors import CaptureError, SessiontapeError
from agent.logs import configure_quiet

CHILD_TIMEOUT_S = 300.0
"""Time the agent's arm may take beyond its window and warm-up: a browser start, the page's
first update (60 s at most) and sealing the recording, on a loaded machine."""


def arm_to_json(run: ArmRun) -> dict[str, Any]:
    """``run`` as JSON-friendly data (:func:`arm_from_json` reads it back)."""
    return asdict(run)


def arm_from_json(data: dict[str, Any]) -> ArmRun:
    """The :class:`ArmRun` of :func:`arm_to_json`'s output."""
    fields = dict(data)
    return ArmRun(sample=BusySample(**fields.pop("sample")), **fields)


async def run_isolated(spec: dict[str, Any], timeout_s: float = CHILD_TIMEOUT_S) -> ArmRun:
    """Run the arm ``spec`` describes (the fields of :class:`_Spec`) in a new Python process, given
    ``timeout_s`` beyond its window and warm-up; the process is killed when this returns or
    raises without it having ended.

    Raises :class:`CaptureError` when the process fails, prints no result or runs too long."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent.bench.capture_child",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    limit = timeout_s + float(spec.get("seconds", 0)) + float(spec.get("warmup", 0))
    try:
        out, _ = await asyncio.wait_for(proc.communicate(orjson.dumps(spec)), limit)
    except TimeoutError:
        raise CaptureError(
            f"the sessiontape arm's own process on {spec.get('workload')!r} did not finish "
            f"within {limit:g} s; stopped"
        ) from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = out.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise CaptureError(
            f"the sessiontape arm's own process exited with {proc.returncode} on "
            f"{spec.get('workload')!r} (its error is above)"
        )
    return arm_from_json(orjson.loads(lines[-1]))


@dataclass(frozen=True, slots=True)
class _Spec:
    """The arm's settings, read and checked before anything runs."""

    config: Config
    workload: str
    base: str
    cells: int
    url: str | None
    counter: str
    seconds: float
    warmup: float
    home: Path

    @classmethod
    def parse(cls, raw: bytes) -> _Spec:
        """Raises ``orjson.JSONDecodeError``, ``KeyError``, ``TypeError`` or ``ValueError``
        (a config pydantic refuses) when ``raw`` is not a whole spec."""
        d = orjson.loads(raw)
        return cls(
            Config.model_validate(d["config"]), str(d["workload"]), str(d["base"]),
            int(d["cells"]), d.get("url"), str(d["counter"]), float(d["seconds"]),
            float(d["warmup"]), Path(d["home"]),
        )  # fmt: skip


async def _arm(spec: _Spec) -> ArmRun:
    async with open_workload(
        spec.workload, spec.base, spec.cells, spec.url, spec.counter
    ) as blotter:
        return await run_sessiontape(spec.config, blotter, spec.seconds, spec.warmup, spec.home)


def main() -> int:
    """Read the spec from stdin, run the arm, print its result; 1 with a message on failure."""
    configure_quiet()  # log lines to stderr: stdout carries the result only
    try:
        spec = _Spec.parse(sys.stdin.buffer.read())
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        print(f"sessiontape bench capture: bad arm spec on stdin: {exc}", file=sys.stderr)
        return 1
    try:
        run = asyncio.run(_arm(spec))
    except SessiontapeError as exc:  # anything else is a bug: its traceback is kept
        print(f"sessiontape bench capture: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(orjson.dumps(arm_to_json(run)) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
