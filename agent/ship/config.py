"""The ``[ship]`` config section (vault URLs, lock mode, retention classes, schedule)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from agent.configbase import Section
from agent.ship.retention import parse_retention, retention_days


class ClassRule(Section):
    """A session matching every condition given gets retention ``class``.

    ``url_pattern`` is an fnmatch glob on a full URL the session visited, ``origin`` a glob on
    the origin (``scheme://host[:port]``) of one, ``application`` the configured
    ``agent.application``. A rule names at least one of them; the URL conditions hold on one
    and the same URL.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    url_pattern: str = ""
    origin: str = ""
    application: str = ""
    record_class: str = Field(alias="class")

    @model_validator(mode="after")
    def _some_condition(self) -> ClassRule:
        if not (self.url_pattern or self.origin or self.application):
            raise ValueError("class_rules: a rule needs url_pattern, origin or application")
        return self

    @property
    def label(self) -> str:
        """The rule as recorded in the seal: ``url_pattern=https://oms.*``."""
        parts = [("url_pattern", self.url_pattern), ("origin", self.origin)]
        parts.append(("application", self.application))
        return ",".join(f"{k}={v}" for k, v in parts if v)


class ShipConfig(Section):
    """Shipping sealed journals to WORM storage."""

    vault_url: str = ""  # "" = file://<home>/vault
    backup_vault_url: str = ""
    lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    retention_classes: dict[str, str] = {"default": "6y", "communications": "3y", "orders": "6y"}
    class_rules: list[ClassRule] = []
    retention_class_default: str = ""  # every session's class; "" = chosen by class_rules
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
        fixed = self.retention_class_default
        if fixed and fixed not in self.retention_classes:
            raise ValueError(f"retention_class_default: unknown class {fixed!r}")
        for rule in self.class_rules:
            if rule.record_class not in self.retention_classes:
                raise ValueError(f"class_rules: unknown class {rule.record_class!r}")
        return self

    def check_class(self, name: str) -> str:
        """``name`` when it is a configured retention class, else a ``ValueError`` listing them."""
        if name not in self.retention_classes:
            known = ", ".join(sorted(self.retention_classes))
            raise ValueError(f"unknown retention class {name!r} (ship.retention_classes: {known})")
        return name

    def resolved_vault_url(self, home: Path) -> str:
        """The primary vault URL, ``file://<home>/vault`` when empty."""
        return self.vault_url or f"file://{Path(home).resolve() / 'vault'}"
