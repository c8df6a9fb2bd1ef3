"""The comparisons a step gets after it settled, beyond its requests' status classes: the
screen against the original moment (:mod:`agent.redrive.screens`), the acted-on element's
region text, and the JSON shape of each response the recording captured
(:mod:`agent.redrive.shapes`).

The original moment of a step is the recording just before the person's next action (the
step's consequences have happened, as they have in the re-driven page after it settled).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Response

from agent.redrive.locate import Found
from agent.redrive.pixels import Box
from agent.redrive.plan import Expected, Plan, Step, path_of
from agent.redrive.result import StepResult
from agent.redrive.screens import Screen, Screens
from agent.redrive.shapes import shape_diff, shape_of
from agent.redrive.text import region_divergence

PIXEL_THRESHOLD = 0.005
"""The share of pixels that may differ before a step's screen is a divergence."""

MOVED_PX = 40
"""An element whose centre moved less than this (or than its own size) has not moved."""

_NO_SCREEN = frozenset({"dialog", "download", "upload", "popup"})
"""Steps whose screen is not compared: nothing new on the page (a dialog, a download, an
upload), or a popup (its content is shifted against the recorded window's: not comparable
pixel for pixel yet)."""


SETTLED_MS = 500
"""A navigation whose next action came sooner than this after it gets no screen comparison:
the recorded page was still loading (drawn without its stylesheet), so its moment is no
picture of what the navigation led to; the next step's moment is."""


def unsettled_steps(plan: Plan) -> set[int]:
    """Indices of the navigation steps whose next action (one they did not cause) came less
    than :data:`SETTLED_MS` after them."""
    starts = sorted(s.action.t_utc_ns for s in plan.steps if not s.follows)
    out: set[int] = set()
    for s in plan.steps:
        if s.action.verb != "navigate":
            continue
        later = [t for t in starts if t > s.action.t_utc_ns]
        if later and later[0] - s.action.t_utc_ns < SETTLED_MS * 1_000_000:
            out.add(s.index)
    return out


def moment_seqs(plan: Plan, last_seq: int) -> dict[int, int]:
    """Step index -> the seq of its original moment: just before the next action that is not
    done by its step (a ``follows`` submit), else the end of the recording."""
    firsts = sorted(s.action.seq_first for s in plan.steps if not s.follows)
    out: dict[int, int] = {}
    for s in plan.steps:
        later = [f for f in firsts if f > s.action.seq]
        out[s.index] = later[0] - 1 if later else last_seq
    return out


class Checks:
    """Screen, region and response-shape comparisons for one re-drive."""

    def __init__(
        self, plan: Plan, screens: Screens | None, ignores: list[re.Pattern[str]], threshold: float
    ) -> None:
        self.plan = plan
        self.screens = screens
        self.ignores = ignores
        self.threshold = threshold
        rec = plan.recording
        self._before = ""  # the acted-on element's region before the action
        self._last: dict[str | None, Screen] = {}  # the last screen compared of each page
        self.moments = moment_seqs(plan, rec.last_seq if rec else 0)
        self._unsettled = unsettled_steps(plan)

    async def shape(
        self, step: Step, e: Expected, response: Response | None, res: StepResult
    ) -> None:
        """Compare a response's JSON shape with the recorded one of the same request."""
        rec = self.plan.recording
        if rec is None or response is None:
            return
        recorded = next(
            (rec.shapes[r.seq] for r in step.action.requests
             if r.seq in rec.shapes and r.method == e.method and path_of(r.url) == e.path),
            None,
        )  # fmt: skip
        if recorded is None:
            return
        try:
            now = shape_of(await response.json())
        except (PlaywrightError, ValueError):
            res.diverge(f"{e.method} {e.path}: the response is not JSON (recorded JSON)")
            return
        for line in shape_diff(recorded, now):
            res.diverge(f"{e.method} {e.path}: {line}")

    async def before(self, found: Found) -> None:
        """Read the acted-on element's region before the action (main frame only)."""
        self._before = ""
        if self.screens is None or found.locator is None or found.frame is None:
            return
        if found.frame.parent_frame is not None:
            return
        try:
            el = await found.locator.element_handle(timeout=1000)
        except PlaywrightError:
            return
        self._before = await self.screens.live_region(el)

    async def _element(self, page: Page, found: Found | None) -> Any:
        if found is None or found.locator is None or found.frame is not page.main_frame:
            return None
        try:
            return await found.locator.element_handle(timeout=1000)
        except PlaywrightError:
            return None  # gone with the step (a closed popup, a replaced node)

    async def screen(
        self, step: Step, page: Page | None, found: Found | None, res: StepResult
    ) -> None:
        """Compare the step's screen, its element's place and its region's change with the
        original moment."""
        a = step.action
        if self.screens is None or step.follows or a.verb in _NO_SCREEN:
            return
        if step.index in self._unsettled:
            return
        if page is None or page.is_closed():
            return
        try:
            await self._compare(step, page, found, res)
        finally:
            self._before = ""

    async def _compare(self, step: Step, page: Page, found: Found | None, res: StepResult) -> None:
        assert self.screens is not None
        a = step.action
        el = await self._element(page, found)
        css = a.target.css if el is not None else ""
        shot = await self.screens.compare(page, a.page, self.moments[step.index], css, el)
        if shot is None:
            return
        res.screen = shot
        res.pixel_ratio = round(shot.diff.ratio, 5)
        if shot.recorded.box and shot.now.box and moved(shot.recorded.box, shot.now.box):
            res.diverge(f"element moved: at {_where(shot.now.box)}, recorded at "
                        f"{_where(shot.recorded.box)}")  # fmt: skip
        await self._region(step, shot, res)
        last = self._last.get(a.page)
        if last is None:
            fresh = shot.diff.changed
        else:
            shift = (last.scroll[0] - shot.scroll[0], last.scroll[1] - shot.scroll[1])
            fresh = shot.diff.new_since(last.diff, shift)
        self._last[a.page] = shot
        share = fresh / shot.diff.total if shot.diff.total else 0.0
        if share > self.threshold:
            res.diverge(f"screen differs ({share * 100:.1f} % of pixels)")

    async def _region(self, step: Step, shot: Screen, res: StepResult) -> None:
        """The region's text change at this step against the recorded one."""
        if not (shot.recorded.region and shot.now.region and self._before):
            return
        assert self.screens is not None
        a = step.action
        rec_before = await self.screens.recorded_region(a.page, a.seq_first - 1, a.target.css)
        res.region_text = shot.now.region
        if not rec_before:
            return
        why = region_divergence(
            (rec_before, shot.recorded.region), (self._before, shot.now.region), self.ignores
        )
        if why:
            # A note, not a divergence: a region also changes with answers to earlier steps
            # that reach it late (the recording's timing is not the re-drive's), so its text
            # change alone cannot say which step diverged; the element's text, the requests
            # and the screen do.
            res.notes.append(why)


def moved(was: Box, now: Box) -> bool:
    """Whether an element's centre moved further than its own size (and :data:`MOVED_PX`):
    a neighbour that grew or a row added above shifts it less than that."""
    dx = (now[0] + now[2] - was[0] - was[2]) / 2
    dy = (now[1] + now[3] - was[1] - was[3]) / 2
    size = max(was[2] - was[0], was[3] - was[1], MOVED_PX)
    return bool((dx * dx + dy * dy) ** 0.5 > size)


def _where(b: Box) -> str:
    return f"({b[0]}, {b[1]})"
