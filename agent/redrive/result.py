"""The outcome of a re-drive: one :class:`StepResult` per recorded action, and the
:class:`RedriveReport` the JSON, JUnit and HTML outputs are written from.

A step's ``status``:

* ``match`` - it ran and everything compared equal;
* ``diverged`` - it ran (or tried to) and something differs; ``divergences`` says what, one
  line each (element not found, element text, a request missing or with another status
  class, a new console error, a dialog or download that differs or did not happen);
* ``needs value`` - a masked value with no ``--fill`` entry: nothing was typed (a divergence,
  never a guess);
* ``skipped`` - an action a re-drive does not repeat (a file upload).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

REPORT_VERSION = 2

MATCH = "match"
DIVERGED = "diverged"
NEEDS_VALUE = "needs value"
SKIPPED = "skipped"


@dataclass
class StepResult:
    """What happened at one step."""

    index: int
    seq: int  # the recorded action's event seq
    verb: str
    text: str  # the recorded action in words
    status: str = MATCH
    strategy: str = ""  # the locator strategy that found the element ("" when none was needed)
    divergences: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # observed: method, path, status
    element_text: str = ""
    console_errors: list[str] = field(default_factory=list)  # new ones (not in the recording)
    follows: bool = False  # done by the step before (a submit after its click)
    unmatched: list[str] = field(default_factory=list)  # --stub-network: aborted, no answer
    partial: list[str] = field(default_factory=list)  # --stub-network: body cut at the cap
    duration_ms: int = 0
    pixel_ratio: float | None = None  # share of pixels that differ (None: no screen compared)
    region_text: str = ""  # the acted-on element's region as re-driven (bounded)
    notes: list[str] = field(default_factory=list)  # differences shown, not divergences
    screen: Any = field(default=None, repr=False)  # the pictures (the HTML report's, not JSON)

    def diverge(self, why: str, status: str = DIVERGED) -> None:
        """Add a divergence (the first non-match status wins)."""
        self.divergences.append(why)
        if self.status == MATCH:
            self.status = status


@dataclass
class RedriveReport:
    """A whole re-drive."""

    session_id: str
    base_url: str
    steps: list[StepResult]
    started: str  # UTC ISO
    duration_ms: int = 0
    session_integrity: str = ""  # of the recording the steps came from
    redrive_session: str = ""  # the sealed session that records this re-drive
    modes: dict[str, Any] = field(default_factory=dict)  # speed, stub_network

    @property
    def divergent(self) -> list[StepResult]:
        """The steps that did not match (skipped steps are not divergences)."""
        return [s for s in self.steps if s.status not in (MATCH, SKIPPED)]

    @property
    def exit_code(self) -> int:
        """0 when every step matches, 1 on any divergence."""
        return 1 if self.divergent else 0

    def counts(self) -> dict[str, int]:
        """How many steps have each status."""
        out: dict[str, int] = {}
        for s in self.steps:
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        """The JSON report (``version`` first)."""
        return {
            "version": REPORT_VERSION,
            "session_id": self.session_id,
            "base_url": self.base_url,
            "session_integrity": self.session_integrity,
            "redrive_session": self.redrive_session,
            "modes": self.modes,
            "started": self.started,
            "duration_ms": self.duration_ms,
            "ok": not self.divergent,
            "counts": self.counts(),
            "steps": [step_dict(s) for s in self.steps],
        }


def step_dict(s: StepResult) -> dict[str, Any]:
    """A step in the JSON report (the pictures stay out of it)."""
    d = asdict(replace(s, screen=None))
    del d["screen"]
    return d
