"""A gate on what the recorded browser may load, installed before any target runs.

Capture stays unaware of any policy. A gate (the kiosk allowlist is one) sends its own
commands to the browser target once before auto-attach starts (``Fetch.enable`` there pauses
every request of every target), queues setup commands on each page, popup, tab and iframe
before it resumes, may add request-stage patterns to the one ``Fetch.enable`` capture sends
per target (a second ``Fetch.enable`` on a session would replace the first), sees every CDP
event, and must answer every request paused at the request stage. Capture's own ``Fetch``
use (bodies at the response stage) never handles those, so each pause has exactly one owner
and none is left paused.
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

    def attach(
        self, session_id: str, info: dict[str, Any], parent_session: str | None
    ) -> list[asyncio.Future[dict[str, Any]]]:
        """Queue setup commands on a page, popup, tab or iframe paused before its first
        script (not awaited)."""

    def event(self, method: str, params: dict[str, Any], session_id: str | None) -> None:
        """Every CDP event of the browser; the gate must answer its request-stage pauses."""


GateFactory = Callable[["CaptureContext"], TargetGate]


def is_request_stage(paused: dict[str, Any]) -> bool:
    """Whether a ``Fetch.requestPaused`` is at the request stage (no response yet)."""
    return "responseStatusCode" not in paused and "responseErrorReason" not in paused
