"""Finding the recorded element again: a locator derived from what was recorded when the
action happened, tried in order - test id, id, role + accessible name, label, text, CSS path -
in the page's main frame, then in its other frames. The first that matches exactly one
element wins; the report names it. Coordinates are the last resort (a click only), and
say so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Locator, Page

from agent.actions.model import Target

STRATEGIES = ("test id", "id", "role + name", "label", "text", "css", "coordinates")
"""Every strategy, in the order they are tried."""

_FIELD_TAGS = frozenset({"input", "textarea", "select"})


@dataclass(frozen=True)
class Found:
    """Where the element was found (``locator`` is None for ``coordinates``)."""

    strategy: str
    locator: Locator | None
    frame: Frame | None


def _q(s: str) -> str:
    return json.dumps(s)


def _candidates(t: Target) -> list[tuple[str, Callable[[Frame], Locator]]]:
    """Each strategy that the recorded description allows, with its locator builder."""
    out: list[tuple[str, Callable[[Frame], Locator]]] = []
    if t.test_id:
        q = _q(t.test_id)
        sel = f"[data-testid={q}], [data-test={q}], [data-qa={q}]"
        out.append(("test id", lambda f: f.locator(sel)))
    if t.element_id:
        out.append(("id", lambda f: f.locator(f"[id={_q(t.element_id)}]")))
    if t.role and t.name:
        out.append(("role + name", lambda f: f.get_by_role(t.role, name=t.name, exact=True)))  # type: ignore[arg-type]
    if t.name and (t.tag in _FIELD_TAGS or t.role in ("textbox", "combobox", "checkbox")):
        out.append(("label", lambda f: f.get_by_label(t.name, exact=True)))
    if t.name and t.tag not in _FIELD_TAGS and t.tag != "form":
        out.append(("text", lambda f: f.get_by_text(t.name, exact=True)))
    if t.css:
        out.append(("css", lambda f: f.locator(t.css)))
    return out


def _frames(page: Page) -> list[Frame]:
    main = page.main_frame
    return [main, *(f for f in page.frames if f is not main)]


async def locate(page: Page, t: Target) -> Found | None:
    """The recorded element in ``page`` (any frame), by the first strategy that finds exactly
    one; coordinates when only they remain; None when nothing finds it."""
    for name, build in _candidates(t):
        for frame in _frames(page):
            loc = build(frame)
            try:
                if await loc.count() == 1:
                    return Found(name, loc, frame)
            except PlaywrightError:
                continue  # a detached frame or a selector this frame cannot parse
    if t.x is not None and t.y is not None:
        return Found("coordinates", None, None)
    return None


_TEXT_JS = (
    "e => !e ? '' : (e.getAttribute('aria-label') || (e.innerText || '').trim() "
    "|| e.value || e.title || '')"
)


async def element_text(page: Page, found: Found, t: Target) -> str:
    """What the acted-on element says: its aria-label, text, value or title (one line); for
    ``coordinates``, the element at the recorded point."""
    try:
        if found.locator is not None:
            text = await found.locator.evaluate(_TEXT_JS, timeout=2000)
        else:
            js = f"([x, y]) => ({_TEXT_JS})(document.elementFromPoint(x, y))"
            text = await page.evaluate(js, [t.x, t.y])
    except PlaywrightError:
        return ""
    return " ".join(str(text).split())


async def matches_css(found: Found, selector: str) -> bool:
    """Whether the found element matches a CSS selector (a ``--fill`` key)."""
    if found.locator is None:
        return False
    try:
        return bool(await found.locator.evaluate("(e, s) => e.matches(s)", selector))
    except PlaywrightError:
        return False
