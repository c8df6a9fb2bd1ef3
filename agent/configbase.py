"""The base of every config section, in its own module so that ``agent.config`` can import the
stages' section models while those models share this base without importing ``agent.config``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section (or a table inside one): frozen, and an unknown key is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
