"""The pages ``sessiontape bench capture`` records: one page per workload, served on 127.0.0.1.

* ``blotter``: ``pages/blotter.html``, a plain 50 x 20 table whose ``cells`` random cells get a
  new price (text and class) every 50 ms; its seeded RNG is the change log, so the share of
  changes a recorder captured is measured too.
* ``aggrid``: ``pages/aggrid.html``, a real AG Grid Community grid (1,000 rows x 12 columns,
  cell change flashing) whose 200 random rows get new prices every 50 ms through one
  ``applyTransaction``. AG Grid's UMD bundle comes from ``recorder_js/node_modules`` (a
  development dependency of the benchmark, pinned to :data:`AGGRID_VERSION`).
* ``form``: ``pages/form.html``, an order-entry form of 50 controls (text, number, select,
  checkbox, radio, textarea, date); every 50 ms the page types one character into a text field
  (value plus an ``input`` event) and sets another control programmatically.
* ``demo`` (on request): the demo app's trading screen, logged in; ``url``: any page
  (``--url``), with a JS expression counting its updates.

Every page counts its updates in ``window.__updates`` and is deterministic (seeded RNG).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from agent.bench.blotter import FIXTURE_LOG_JS, Blotter, Cell, demo_blotter
from agent.bench.blotter import Page as BlotterPage
from agent.bench.harness import serve_pages
from agent.bench.peer import RECORDER_JS, pinned_npm_file
from agent.errors import CaptureError, UsageError

WORKLOADS = ("blotter", "aggrid", "form")
KNOWN = (*WORKLOADS, "demo")
AGGRID_VERSION = "36.2.0"
AGGRID_DIR = RECORDER_JS / "node_modules" / "ag-grid-community"
AGGRID_JS = AGGRID_DIR / "dist" / "ag-grid-community.min.js"
AGGRID_URL = "/vendor/ag-grid-community.min.js"
COUNTER = "window.__updates"
TICK_MS = 50  # every page schedules its next update this long after the last one ended
_NPM_HINT = (
    f'add "ag-grid-community": "{AGGRID_VERSION}" to recorder_js/package.json '
    "devDependencies and run `npm install` in recorder_js"
)


def aggrid_js(path: Path | None = None) -> Path:
    """AG Grid Community's UMD bundle, after checking it is the pinned version.

    ``path`` overrides the file (its version is then not checked: a bare file has no
    ``package.json``)."""
    if path is not None:
        if not path.is_file():
            raise CaptureError(f"{path}: no such file (the AG Grid bundle for --aggrid-js)")
        return path
    return pinned_npm_file("ag-grid-community", AGGRID_VERSION, AGGRID_JS, _NPM_HINT)


def check_names(names: Sequence[str]) -> list[str]:
    """The workload names, in order, each once; an unknown name is a usage error."""
    out: list[str] = []
    for n in names:
        if n not in KNOWN:
            raise UsageError(f"unknown workload {n!r}: choose from {', '.join(KNOWN)}")
        if n not in out:
            out.append(n)
    if not out:
        raise UsageError("no workload given")
    return out


@contextlib.contextmanager
def serve_workloads(aggrid: Path | None) -> Iterator[str]:
    """The benchmark pages (and, when given, the AG Grid bundle) on 127.0.0.1; the base URL."""
    mounts = {AGGRID_URL: aggrid} if aggrid is not None else {}
    with serve_pages(mounts) as base:
        yield base


async def _noop(_page: BlotterPage) -> None:
    return None


def static_workload(name: str, base: str, cells: int) -> Blotter:
    """One of the pages shipped in ``pages/`` (served at ``base``)."""
    if name == "blotter":

        async def changes(pg: BlotterPage, n: int) -> list[Cell]:
            rows = await pg.evaluate(FIXTURE_LOG_JS, n)
            return [(int(r), int(c), str(v)) for r, c, v in rows]

        url = f"{base}/blotter.html?cells={cells}"
        return Blotter("blotter", url, COUNTER, "grid", _noop, changes)
    return Blotter(name, f"{base}/{name}.html", COUNTER, None, _noop, None)


@contextlib.asynccontextmanager
async def open_workload(
    name: str, base: str, cells: int, url: str | None = None, counter: str = COUNTER
) -> AsyncIterator[Blotter]:
    """The workload ``name``: a page under ``base``, the demo app (started here), or ``url``
    (``name == "url"``; ``counter`` counts its updates)."""
    if name == "url" and url is not None:
        yield Blotter("url", url, counter, None, _noop, None)
        return
    if name == "demo":
        async with demo_blotter(cells) as b:
            yield b
        return
    yield static_workload(name, base, cells)
