"""Comparing page text that may legitimately differ between the recording and the re-drive:
``--ignore`` patterns (regular expressions, or the presets ``@times`` and ``@numbers``) are
replaced by ``#`` on both sides before comparing, and whitespace is collapsed.

The same patterns mask screen regions: an element whose own text an ignore pattern matches
is left out of the pixel comparison (see :mod:`agent.redrive.screens`).
"""

from __future__ import annotations

import re
from collections import Counter

from agent.errors import UsageError

PRESETS = {
    "@times": (
        r"\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
        r"|\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?[AaPp][Mm])?"
    ),
    "@numbers": r"[-+]?\d[\d,]*(?:\.\d+)?",
}
"""Built-in patterns: dates and times of day; numbers (with thousands separators, a sign
and decimals)."""

REGION_CHARS = 2000
"""The most text of an element's region that is compared."""


def compile_ignores(patterns: list[str]) -> list[re.Pattern[str]]:
    """The ``--ignore`` patterns, presets expanded (``UsageError`` for a bad one)."""
    out: list[re.Pattern[str]] = []
    for p in patterns:
        if p.startswith("@"):
            if p not in PRESETS:
                known = ", ".join(sorted(PRESETS))
                raise UsageError(f"--ignore {p!r}: unknown preset (known: {known})")
            out.append(re.compile(PRESETS[p]))
            continue
        try:
            out.append(re.compile(p))
        except re.error as exc:
            raise UsageError(f"--ignore {p!r}: not a regular expression ({exc})") from exc
    return out


def normalize(text: str, ignores: list[re.Pattern[str]]) -> str:
    """``text`` with every ignored match replaced by ``#`` and whitespace collapsed."""
    for rx in ignores:
        text = rx.sub("#", text)
    return " ".join(text.split())


def _delta(before: str, after: str, ignores: list[re.Pattern[str]]) -> tuple[list[str], list[str]]:
    """The words that went and came between two texts (order aside)."""
    b = Counter(normalize(before, ignores).split())
    a = Counter(normalize(after, ignores).split())
    return sorted((b - a).elements()), sorted((a - b).elements())


def _words_of(text: str, ignores: list[re.Pattern[str]]) -> Counter[str]:
    return Counter(normalize(text, ignores).split())


def _words(gone: list[str], came: list[str]) -> str:
    parts = [f"added {' '.join(came)!r}"] if came else []
    parts += [f"removed {' '.join(gone)!r}"] if gone else []
    return ", ".join(parts) or "nothing"


def region_divergence(
    recorded: tuple[str, str], now: tuple[str, str], ignores: list[re.Pattern[str]]
) -> str | None:
    """A divergence line when the step changed its region's text (``(before, after)``)
    otherwise than the recorded action did and the region does not end as it did in the
    recording; None when both changed it alike (a difference from before the step, such as
    a renamed button, is named where it appeared, not again here), or when both end alike (a
    change that reached the recording late, such as an earlier step's slow answer, is not
    this step's)."""
    rec = _delta(*recorded, ignores)
    got = _delta(*now, ignores)
    if rec == got:
        return None
    if _words_of(recorded[1], ignores) == _words_of(now[1], ignores):
        return None
    return f"region text changed otherwise: {_words(*got)[:200]}; recorded {_words(*rec)[:200]}"
