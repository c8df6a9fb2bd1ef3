"""The re-drive kept as evidence: a sealed session of its own, linked to the one it re-drove.

The re-driven browser is driven through Playwright and is not recorded by the capture (a
recorded browser accepts no client but the agent's CDP pipe). What the re-drive did and
found is written instead, through the normal pipeline (masking, journal, seal, verify), as
a new session in the agent home: ``redrive.start`` (``redrive_of`` - the original session's
id - with the integrity status it was re-driven from, the base URL, the origin map and the
options), one ``redrive.step`` per step (its status, locator strategy, requests,
divergences, unmatched stubbed requests, duration, and the SHA-256 of the recorded moment's
and the re-driven page's pictures as the report shows them), and ``redrive.end`` with the
summary. ``sessiontape verify``, ``sessions`` and ``replay`` list it like any session.

The link is an event field, not a genesis field: the genesis format (and its version) stays
as it is; ``previous_session`` there means "the session this one follows on the same
workstation", which a re-drive is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.canonical import sha256_hex
from agent.config import Config
from agent.events import Event
from agent.pipeline import Recording, RecordingResult
from agent.redrive.result import RedriveReport, StepResult, step_dict


def _picture_hashes(res: StepResult) -> dict[str, str]:
    """SHA-256 of the step's pictures (the recorded moment, the re-driven page: PNG bytes as
    the HTML report shows them); empty when no screen was compared."""
    shot = res.screen
    if shot is None:
        return {}
    return {"original": sha256_hex(shot.original), "redriven": sha256_hex(shot.redriven)}


class Evidence:
    """The re-drive's own session, written step by step while it runs."""

    def __init__(self, home: Path, config: Config) -> None:
        self.rec = Recording(home, config)
        self.session_id = self.rec.session_id

    async def _emit(self, kind: str, payload: dict[str, Any]) -> None:
        clock = self.rec.clock
        await self.rec.sink.append_many([Event(kind, payload, clock.utc_ns(), clock.mono_ns())])

    async def start(
        self, session_id: str, integrity: str, base_url: str, options: dict[str, Any]
    ) -> None:
        """``redrive.start``: which session is re-driven, from what, against what, how."""
        payload = {"redrive_of": session_id, "integrity": integrity, "base_url": base_url}
        await self._emit("redrive.start", {**payload, **options})

    async def step(self, res: StepResult) -> None:
        """``redrive.step``: one step's outcome."""
        d = step_dict(res)
        d["screenshot_sha256"] = _picture_hashes(res)
        await self._emit("redrive.step", d)

    async def end(self, rep: RedriveReport) -> None:
        """``redrive.end``: the summary."""
        summary = {"ok": not rep.divergent, "counts": rep.counts(), "duration_ms": rep.duration_ms}
        await self._emit("redrive.end", {"redrive_of": rep.session_id, **summary})

    def close(self, reason: str = "redrive finished") -> RecordingResult:
        """Seal and verify the re-drive's session."""
        return self.rec.close(reason)
