"""The ``[ship]`` config section (vault URLs, lock mode, retention classes, schedule)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from agent.configbase import Section
from agent.ship.retention import parse_retention, retention_days


class ClassRule(Section):
    """A session whose URLs match ``url_pattern`` (fnmatch glob) gets retention ``class``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    url_pattern: str
    record_class: str = Field(alias="class")


class ShipConfig(Section):
    """Shipping sealed journals to WORM storage."""

    vault_url: str = ""  # "" = file://<home>/vault
    backup_vault_url: str = ""
    lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    retention_classes: dict[str, str] = {"default": "6y", "communications": "3y", "orders": "6y"}
    class_rules: list[ClassRule] = []
    min_retention: str = "3y"
    interval_seconds: int = Field(15, ge=1)
    checkpoint_interval_seconds: int = Field(3, ge=1)
    stream_checkpoints: bool = True  # while recording, to the resolved vault
    reverify_interval_seconds: int = Field(3600, ge=60)
    reverify_sample: int = Field(20, ge=0)
    posture_interval_seconds: int = Field(86400, ge=60)
    retention_interval_seconds: int = Field(3600, ge=60)
    keep_local_days: int = Field(30, ge=0)
    backoff_base_seconds: int = Field(5, ge=1)
    backoff_max_seconds: int = Field(900, ge=1)
    max_put_bytes: int = Field(5 * 1024**3, ge=1024, le=5 * 1024**3)
    max_clock_skew_seconds: int = Field(300, ge=1)

    @field_validator("retention_classes")
    @classmethod
    def _classes_parse(cls, v: dict[str, str]) -> dict[str, str]:
        if "default" not in v:
            raise ValueError("retention_classes needs a 'default' class")
        for name, spec in v.items():
            parse_retention(spec, what=f"retention_classes.{name}")
        return v

    @model_validator(mode="after")
    def _policy(self) -> ShipConfig:
        floor = retention_days(self.min_retention)
        for name, spec in self.retention_classes.items():
            if retention_days(spec) < floor:
                raise ValueError(
                    f"retention class {name!r} = {spec} is shorter than "
                    f"min_retention {self.min_retention}"
                )
        for rule in self.class_rules:
            if rule.record_class not in self.retention_classes:
                raise ValueError(f"class_rules: unknown class {rule.record_class!r}")
        return self

    def resolved_vault_url(self, home: Path) -> str:
        """The primary vault URL, ``file://<home>/vault`` when empty."""
        return self.vault_url or f"file://{Path(home).resolve() / 'vault'}"
