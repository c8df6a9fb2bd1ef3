"""The ``[kiosk]`` config section: what ``sessiontape kiosk`` opens, allows and when it ends."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.configbase import Section
from agent.kiosk.allowlist import SCOPES, Scope


class KioskConfig(Section):
    """The supervised kiosk (command-line options override ``url``, ``allow``, ``operator``,
    ``idle_minutes``, ``require_supervisor``)."""

    url: str = ""  # the service each customer session opens at (must be allowed)
    allow: list[str] = Field(default_factory=list)  # allowlist patterns, scheme://host[/path]
    scopes: list[Scope] = Field(default_factory=lambda: list(SCOPES))
    subresources: Literal["allowlist", "any-https", "any"] = "allowlist"
    downloads: Literal["deny", "allow"] = "deny"
    printing: Literal["dialog", "silent"] = "dialog"
    service_workers: Literal["gated", "block"] = "gated"
    brand: str = ""  # shown on the start screen and the block page
    operator: str = ""  # default operator id (recorded as the session's user)
    idle_minutes: float = Field(default=5.0, gt=0)
    idle_warning_seconds: int = Field(default=30, ge=1)
    require_supervisor: bool = False  # Start waits for a supervisor; none left: paused
