"""A gate on what the recorded browser may load, installed on every target from its start.

Capture stays unaware of any policy: a gate (the kiosk allowlist is one) gets a chance to
queue setup commands on each target before it resumes, adds its ``Fetch`` request-stage
patterns to the one ``Fetch.enable`` capture sends per target (a second ``Fetch.enable``
would replace the first), sees every CDP event, and answers every request paused at the
request stage. Capture's own ``Fetch`` use (bodies at the response stage) never sees those,
so a request is answered by exactly one party at each stage and never left paused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agent.capture.context import CaptureContext


class TargetGate(Protocol):
    """What the capture engine asks of a gate."""

    def browser_setup(self) -> list[asyncio.Future[dict[str, Any]]]:
        """Commands on the browser target itself, sent once before auto-attach starts."""

    def fetch_patterns(self) -> list[dict[str, str]]:
        """``Fetch.enable`` patterns at the request stage (the gate answers those pauses)."""

    def wants(self, target_type: str) -> bool:
        """Whether a target capture does not instrument (a worker) stays attached for us."""

    def attach(
        self, session_id: str, info: dict[str, Any], parent_session: str | None
    ) -> list[asyncio.Future[dict[str, Any]]]:
        """Queue setup commands on a target paused before its first script (not awaited)."""

    def event(self, method: str, params: dict[str, Any], session_id: str | None) -> None:
        """Every CDP event of the browser; the gate must answer its request-stage pauses."""


GateFactory = Callable[["CaptureContext"], TargetGate]


def is_request_stage(paused: dict[str, Any]) -> bool:
    """Whether a ``Fetch.requestPaused`` is at the request stage (no response yet)."""
    return "responseStatusCode" not in paused and "responseErrorReason" not in paused
