"""What field rules masked in this recording, so the same value is masked the same way anywhere.

A field rule (an element rule by selector, a query-parameter, form-field, JSON-path, header or
WebSocket-path rule) knows the field, not the value: an account number typed into a field
named ``account`` is tokenized there, but the same characters in the URL ``?acct=...`` of a
parameter no rule names, in a JSON response or in the page's text would pass in clear.
:class:`ValueMemory` remembers each value a field rule masked (trimmed, exactly as seen) with
the replacement it got, and the string masker applies that replacement wherever the value
appears afterwards, as a whole word (not inside a longer run of letters and digits).

Only values worth following are remembered: at least :data:`MIN_CHARS` characters of which at
least :data:`MIN_DISTINCT` differ, so ``1``, ``BUY`` or ``100000`` never replace text across
a page. The memory is bounded (:data:`MAX_VALUES`, oldest forgotten first), lives in the
masker of one recording and is never written anywhere: the clear values it holds die with
the process. A value seen before it was masked by a field rule is not masked retroactively.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

MIN_CHARS = 6
MIN_DISTINCT = 4
MAX_VALUES = 4096


@dataclass(frozen=True, slots=True)
class Remembered:
    """The replacement a value got, the strength it got it under and any escrow blobs."""

    replacement: str
    strength: int
    escrows: tuple[tuple[str, str], ...]


def worth_remembering(value: str) -> bool:
    """True for values long and varied enough to be replaced wherever they appear."""
    return len(value) >= MIN_CHARS and len(set(value)) >= MIN_DISTINCT


class ValueMemory:
    """Clear value -> :class:`Remembered`, bounded, in memory only."""

    def __init__(self, max_values: int = MAX_VALUES) -> None:
        self._values: OrderedDict[str, Remembered] = OrderedDict()
        self._max = max_values
        self._regex: re.Pattern[str] | None = None
        self._stale = False

    def __len__(self) -> int:
        return len(self._values)

    def get(self, value: str) -> Remembered | None:
        """What ``value`` (trimmed) was replaced with, if a field rule masked it."""
        if not self._values:
            return None
        return self._values.get(value.strip())

    def remember(self, value: str, found: Remembered) -> bool:
        """Remember ``value`` -> ``found`` unless a stronger replacement is already held;
        True when the memory changed (cached scans of free text are then out of date)."""
        key = value.strip()
        if not worth_remembering(key):
            return False
        held = self._values.get(key)
        if held is not None and (held.strength >= found.strength or held == found):
            return False
        self._values[key] = found
        while len(self._values) > self._max:
            self._values.popitem(last=False)
        self._stale = True
        return True

    def regex(self) -> re.Pattern[str] | None:
        """One regex finding any remembered value as a whole word (longest first)."""
        if self._stale:
            self._stale = False
            alts = sorted(self._values, key=len, reverse=True)
            self._regex = (
                re.compile(
                    "(?<![A-Za-z0-9])(?:"
                    + "|".join(re.escape(v) for v in alts)
                    + ")(?![A-Za-z0-9])"
                )
                if alts
                else None
            )
        return self._regex

    def find(self, match: str) -> Remembered:
        """The entry of a string :meth:`regex` matched."""
        return self._values[match]
