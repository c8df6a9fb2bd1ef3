"""The value a re-drive types: the recorded one when it is clear; for a masked one
(tokenized, escrowed or redacted) the ``--fill`` entry keyed by its recorded token, by a CSS
selector the field matches (``"#password"``), or by its label - never the masked text itself,
and never a guess: without an entry the step "needs value".
"""

from __future__ import annotations

import re

from agent.actions.model import Action
from agent.redrive.locate import Found, matches_css
from agent.redrive.result import NEEDS_VALUE, StepResult

_TOKEN = re.compile(r"\b(?:tok|esc)_[0-9a-f]{16}\b")


async def fill_value(a: Action, found: Found, fill: dict[str, str], res: StepResult) -> str | None:
    """The value to type for a ``type`` step; None (and the step "needs value") when a
    masked value has no ``--fill`` entry."""
    if not a.masked:
        return a.value or ""
    for tok in _TOKEN.findall(a.value or ""):
        if tok in fill:
            return fill[tok]
    t = a.target
    for key in (t.css, f"#{t.element_id}" if t.element_id else ""):
        if key and key in fill:
            return fill[key]
    for key, value in fill.items():
        if not _TOKEN.fullmatch(key) and key != t.name and await matches_css(found, key):
            return value
    if t.name and t.name in fill:
        return fill[t.name]
    where = t.name or t.css or t.element_id or "the field"
    res.diverge(f"needs value: the recorded value is masked ({a.masked}); "
                f"no --fill entry for {where!r}", NEEDS_VALUE)  # fmt: skip
    return None
