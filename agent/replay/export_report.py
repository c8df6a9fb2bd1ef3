"""The report files of an export: ``report.html``, its thumbnails ``report/thumbs/…`` and
``report.pdf``, drawn in one headless Chromium the agent launches (no display needed).

A picture or the PDF that cannot be drawn never fails the export: the report shows a named
placeholder, and the manifest's ``report`` entry records, per moment, the file or why there is
none, and the PDF or why there is none. That entry, with the order patterns used, is what
``verify-bundle`` needs to re-derive ``report.html`` from the segments without drawing again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.capture.config import CaptureConfig
from agent.errors import CaptureError
from agent.replay import report
from agent.replay.config import ReplayConfig
from agent.replay.manifest import decryption
from agent.replay.render import Renderer
from agent.replay.report_view import ReportSettings, SessionView
from agent.replay.thumbs import SessionJob, Thumbnails, moments, render_jobs, unavailable

PDF = "report.pdf"


def settings(cfg: ReplayConfig) -> ReportSettings:
    """The report settings of this home's config."""
    return ReportSettings(tuple(cfg.report_order_urls), tuple(cfg.report_order_ws_types))


@dataclass
class Drawn:
    """What the browser drew: thumbnails, and the PDF or why there is none."""

    thumbs: Thumbnails = field(default_factory=Thumbnails)
    pdf: bytes | None = None
    pdf_error: str = ""


async def _draw(
    capture: CaptureConfig,
    jobs: list[SessionJob],
    width: int,
    want_pdf: bool,
    html_of: Callable[[Thumbnails], bytes],
) -> Drawn:
    drawn = Drawn()
    if not (want_pdf or any(j.moments for j in jobs)):
        return drawn
    try:
        r = await Renderer.start(capture)
    except CaptureError as exc:
        unavailable(jobs, f"renderer unavailable ({exc.message})", drawn.thumbs)
        drawn.pdf_error = f"renderer unavailable ({exc.message})"
        return drawn
    try:
        await render_jobs(r, jobs, width, drawn.thumbs)
        if want_pdf:
            html = html_of(drawn.thumbs)
            try:
                drawn.pdf = await r.pdf(html, drawn.thumbs.images)
            except CaptureError as exc:
                drawn.pdf_error = f"could not be printed ({exc.message})"
    finally:
        drawn.thumbs.requests = list(r.requests)
        await r.close()
    return drawn


def _run(coro: Coroutine[Any, Any, Drawn]) -> Drawn:
    """Run the drawing to completion, in a thread of its own when this thread already runs
    an event loop (an export called from async code or under Playwright's sync API)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1, thread_name_prefix="report-draw") as pool:
        return pool.submit(asyncio.run, coro).result()


def write_report(
    root: Path,
    capture: CaptureConfig,
    cfg: ReplayConfig,
    views: list[tuple[SessionView, dict[str, Any], Path]],
    render_html: Callable[[list[SessionView]], bytes],
) -> tuple[dict[str, Any], Drawn]:
    """Draw and write the report files; return the manifest's ``report`` entry and what was
    drawn. ``views``: per session its view, offline viewer data and bundled assets dir."""
    jobs = [
        SessionJob(
            v.meta["session_id"], moments(v.actions, v.orders, cfg.report_thumbnails), data, assets
        )
        for v, data, assets in views
    ]

    def html_of(th: Thumbnails) -> bytes:
        for v, _, _ in views:
            v.thumbs = th.outcomes.get(v.meta["session_id"], {})
        return render_html([v for v, _, _ in views])

    drawn = _run(_draw(capture, jobs, cfg.report_thumbnail_width, cfg.report_pdf, html_of))
    for path, img in drawn.thumbs.images.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(img)
    (root / "report.html").write_bytes(html_of(drawn.thumbs))
    pdf: dict[str, Any] = {"file": None, "error": None}
    if drawn.pdf is not None:
        (root / PDF).write_bytes(drawn.pdf)
        pdf["file"] = PDF
    elif cfg.report_pdf:
        pdf["error"] = drawn.pdf_error
    else:
        pdf["error"] = "not printed: replay.report_pdf is false"
    entry = {
        **settings(cfg).as_dict(),
        "thumbnails": {j.session_id: drawn.thumbs.outcomes.get(j.session_id, {}) for j in jobs},
        "pdf": pdf,
    }
    return entry, drawn


@dataclass
class ReportFiles:
    """What the report files of an export say and hold."""

    entry: dict[str, Any]  # the manifest's ``report`` entry
    readable: str = ""  # who can read what in the bundle, in words
    thumbnails: int = 0  # pictures drawn
    thumbnails_missing: int = 0  # moments with a placeholder instead
    pdf: bool = False  # report.pdf written
    # every request the renderer saw: (url, "served" | "blocked")
    requests: list[tuple[str, str]] = field(default_factory=list, repr=False)


def write_bundle_report(
    root: Path,
    capture: CaptureConfig,
    cfg: ReplayConfig,
    views: list[tuple[SessionView, dict[str, Any], Path]],
    header: dict[str, Any],
    sealer: Any,
) -> ReportFiles:
    """Write report.html, its thumbnails and report.pdf for the bundle built at ``root``
    (after its signers' keys: the report lists them); ``sealer``: the recipient's, or None."""
    d = root / "keys" / "trusted"
    facts: dict[str, Any] = {
        "trusted_keys": sorted(p.relative_to(root).as_posix() for p in d.glob("*.pub"))
        if d.is_dir()
        else [],
        "decryption": decryption(sealer),
    }
    entry, drawn = write_report(
        root, capture, cfg, views, lambda vs: report.render(vs, header, facts)
    )
    shots = [o for th in entry["thumbnails"].values() for o in th.values()]
    return ReportFiles(
        entry,
        readable=report.readable_by(facts["decryption"]),
        thumbnails=sum(1 for o in shots if "file" in o),
        thumbnails_missing=sum(1 for o in shots if "file" not in o),
        pdf=drawn.pdf is not None,
        requests=drawn.thumbs.requests,
    )
