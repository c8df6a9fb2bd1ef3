"""The named peer for capture-overhead benchmarks: rrweb 2.2.2, injected the way we inject ours.

The project compares side by side with a named peer in the same run (ratios, not absolute
times). For capture the peer is rrweb 2.2.2, the library our recorder builds on.
:func:`peer_source` builds a script for ``Page.addScriptToEvaluateOnNewDocument`` in the
recorder's isolated world that starts ``rrweb.record({emit, maskAllInputs: true})`` and ships
the buffered events through the private CDP binding every ``flush_ms`` as one JSON array - the
transport our recorder uses, so the two arms pay for the same delivery. rrweb comes from
``recorder_js/node_modules`` (pinned by ``recorder_js/package-lock.json``); it is a dev-only
dependency of the benchmark.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from agent.errors import CaptureError
from agent.events import Event
from agent.rrweb import EventType, IncrementalSource

RECORDER_JS = Path(__file__).resolve().parents[2] / "recorder_js"
RRWEB_DIR = RECORDER_JS / "node_modules" / "rrweb"
RRWEB_UMD = RRWEB_DIR / "dist" / "rrweb.umd.min.cjs"
PEER_VERSION = "2.2.2"
PEER_NAME = f"rrweb {PEER_VERSION}"

_START_JS = """
;(() => {
  // Top frame only (as ours: a same-origin child is recorded by its parent). rrweb appends an
  // about:blank iframe to borrow untainted prototypes; that frame's new document would run
  // this script again, synchronously, without end.
  if (window !== window.top || location.protocol === 'about:') return;
  const send = globalThis[%(binding)s];
  const buf = [];
  const ship = () => {
    if (buf.length) send(JSON.stringify(buf.splice(0, buf.length)));
  };
  globalThis.__peer_flush = ship;
  globalThis.__peer_stop = rrweb.record({emit: (e) => { buf.push(e); }, maskAllInputs: true});
  setInterval(ship, %(flush_ms)d);
})();
"""


def pinned_npm_file(package: str, version: str, file: Path, hint: str) -> Path:
    """``file`` of the npm ``package`` in ``recorder_js/node_modules``, after checking the
    installed package is ``version`` (a :class:`CaptureError` naming ``hint`` otherwise)."""
    pkg = RECORDER_JS / "node_modules" / package / "package.json"
    if not file.is_file() or not pkg.is_file():
        raise CaptureError(f"{file} is missing: {hint}")
    installed = json.loads(pkg.read_text(encoding="utf-8")).get("version")
    if installed != version:
        raise CaptureError(f"{package} {installed} installed, want {version}: {hint}")
    return file


def rrweb_umd() -> str:
    """rrweb's UMD bundle, after checking it is the pinned version."""
    hint = "run `npm ci` in recorder_js first"
    return pinned_npm_file("rrweb", PEER_VERSION, RRWEB_UMD, hint).read_text(encoding="utf-8")


def peer_source(binding: str, *, flush_ms: int = 100) -> str:
    """The script that records with rrweb and ships a JSON array per ``flush_ms``.

    Evaluated at document creation in an isolated world that has ``binding``; the UMD wrapper
    sets ``globalThis.rrweb`` there (no ``module``/``define`` in that world). rrweb defers its
    first full snapshot until the document is ready.
    """
    return rrweb_umd() + _START_JS % {"binding": json.dumps(binding), "flush_ms": flush_ms}


def peer_events(messages: Iterable[str]) -> list[Event]:
    """The rrweb events of the peer's binding messages as capture events (kind + payload), so
    :func:`agent.bench.blotter.captured_cells` can read them like ours."""
    out: list[Event] = []
    for raw in messages:
        for ev in json.loads(raw):
            kind = "rrweb.other"
            if ev.get("type") == EventType.FULL_SNAPSHOT:
                kind = "rrweb.full_snapshot"
            elif (
                ev.get("type") == EventType.INCREMENTAL_SNAPSHOT
                and ev.get("data", {}).get("source") == IncrementalSource.MUTATION
            ):
                kind = "rrweb.mutation"
            out.append(Event(kind, ev, 0, 0))
    return out


def surviving_pct(changes: Sequence[tuple[int, int, str]], per_update: int) -> float | None:
    """Share of ``changes`` that are their cell's last value in their update (``per_update``
    writes each), i.e. not overwritten by the same update. A recorder that diffs the DOM as it
    stands after each update (rrweb: added nodes are serialized from the live tree) sees at
    most these; one that serializes each MutationRecord's added nodes (ours) also sees the
    overwritten intermediate values."""
    if not changes or per_update <= 0:
        return None
    seen = 0
    for start in range(0, len(changes), per_update):
        last: dict[tuple[int, int], str] = {}
        for r, c, v in changes[start : start + per_update]:
            last[(r, c)] = v
        seen += len(last)
    return round(100.0 * seen / len(changes), 3)


def events_of_ours(messages: Iterable[str]) -> list[Event]:
    """Our recorder's binding messages (``{"v","n","events":[{"k","t","p"}]}``) as events."""
    out: list[Event] = []
    for raw in messages:
        msg: dict[str, Any] = json.loads(raw)
        out.extend(
            Event(str(e["k"]), e["p"] if isinstance(e["p"], dict) else {"v": e["p"]}, 0, 0)
            for e in msg.get("events", [])
        )
    return out
