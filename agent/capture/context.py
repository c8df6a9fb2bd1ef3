"""What the parts of capture share: built once by the engine, handed to each part.

The parts (pages, network, health, recorder messages, blocking) see only this, never the
engine: the engine imports them, so none of them imports the engine back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.capture.assets import AssetStore
from agent.capture.cause import CauseLinker
from agent.capture.config import CaptureConfig
from agent.capture.emitter import Emitter
from agent.capture.state import TargetRegistry
from agent.capture.tasks import TaskSpawner
from agent.clock import Clock


class Commands(Protocol):
    """The CDP commands the parts send (``CDPConnection`` is one)."""

    def send_nowait(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> asyncio.Future[dict[str, Any]]:
        """Queue a command now; the future resolves to its result."""

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Send a command and wait for its result."""

    def fire(
        self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None
    ) -> None:
        """Send a command whose answer nobody needs."""


@dataclass(frozen=True, slots=True)
class CaptureContext:
    """The engine's shared state and services, as the parts need them."""

    cdp: Commands
    cfg: CaptureConfig
    emitter: Emitter
    clock: Clock
    targets: TargetRegistry
    tasks: TaskSpawner
    causes: CauseLinker
    assets: AssetStore
    binding: str  # the private binding name our recorders call
    source: str  # the recorder bundle with its configuration, as injected
    downloads_dir: Path
