"""Configuration: frozen pydantic models, validated when loaded.

Sources, later wins: the embedded defaults (the field defaults below, documented key by key
in ``config/sessiontape.toml``), a TOML file (``--config``, ``$SESSIONTAPE_CONFIG`` or
``<home>/sessiontape.toml``), then environment variables ``SESSIONTAPE_<SECTION>_<KEY>``
(e.g. ``SESSIONTAPE_JOURNAL_CHUNK_MAX_EVENTS=500``) plus the aliases in ``ENV_ALIASES``.
An unknown section or key, or a wrong type, is a :class:`ConfigError` naming the key and the
source.

Each stage owns its section model (``agent/<stage>/config.py``); :class:`Config` has one typed
field per section, and the loader takes its list of sections from those fields. Adding a key
means adding it to the section model *and* to ``config/sessiontape.toml`` (a test fails
otherwise); adding a section means a field on :class:`Config` too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.capture.config import CaptureConfig
from agent.configbase import Section
from agent.errors import ConfigError
from agent.index.config import IndexConfig
from agent.keystore.config import FirmConfig, FirmKeysConfig, KeysConfig
from agent.mask.config import MaskConfig
from agent.replay.config import ReplayConfig
from agent.ship.config import ShipConfig
from agent.tomlfile import read_toml


class AgentConfig(Section):
    identity: str = ""  # configured user identity; empty = OS user
    workstation: str = ""  # workstation name; empty = hostname
    application: str = ""  # the application this desk records (ship.class_rules may match it)
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class JournalConfig(Section):
    rotate_seconds: int = Field(300, ge=1)
    rotate_bytes: int = Field(256 * 1024 * 1024, ge=64 * 1024)
    chunk_max_ms: int = Field(20, ge=1)
    chunk_max_events: int = Field(1000, ge=1)
    zstd_level: int = Field(1, ge=1, le=22)
    clock_jump_threshold_ms: int = Field(1000, ge=1)
    durability: Literal["strict", "best_effort"] = "best_effort"


class SealConfig(Section):
    checkpoint_active_seconds: int = Field(2, ge=1)
    checkpoint_idle_seconds: int = Field(30, ge=1)
    tsa_url: str = ""  # RFC 3161 TSA endpoint; empty = no timestamp token
    tsa_timeout_seconds: int = Field(10, ge=1)
    tsa_roots: list[str] = []  # PEM files of trusted TSA root certificates (for verify)
    require_timestamp: bool = False  # verify fails a sealed segment without a checked token
    keys: KeysConfig = Field(default_factory=KeysConfig)  # [seal.keys]: where the keys live
    firm: FirmConfig = Field(default_factory=FirmConfig)  # [seal.firm]: firm recipients
    firm_keys: FirmKeysConfig = Field(default_factory=FirmKeysConfig)  # [seal.firm_keys]


# Environment variables with a name the issues promise, beyond SESSIONTAPE_<SECTION>_<KEY>.
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "SESSIONTAPE_VAULT_URL": ("ship", "vault_url"),
}

_DEFAULTS = "embedded defaults"

# SESSIONTAPE_* variables that are not config keys.
_NON_CONFIG_ENV = {
    "SESSIONTAPE_HOME",
    "SESSIONTAPE_CONFIG",
    "SESSIONTAPE_S3_TEST_URL",
    "SESSIONTAPE_ACTOR",
}


class Config(BaseModel):
    """The loaded, validated, frozen configuration: one typed attribute per section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: AgentConfig = Field(default_factory=AgentConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    seal: SealConfig = Field(default_factory=SealConfig)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    mask: MaskConfig = Field(default_factory=MaskConfig)
    ship: ShipConfig = Field(default_factory=ShipConfig)
    index: IndexConfig = Field(default_factory=IndexConfig)
    replay: ReplayConfig = Field(default_factory=ReplayConfig)
    source: str = _DEFAULTS  # the file it was loaded from, or the embedded defaults

    def as_dict(self) -> dict[str, Any]:
        """All sections as plain dicts (``source`` is not a section)."""
        return {name: getattr(self, name).model_dump() for name in _SECTIONS}


def _section_models() -> dict[str, type[Section]]:
    """The sections in declaration order: the fields of :class:`Config` typed as a section."""
    out: dict[str, type[Section]] = {}
    for name, field in Config.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, Section):
            out[name] = model
    return out


_SECTIONS = _section_models()


def load_config(
    path: Path | None = None, *, env: dict[str, str] | None = None, home: Path | None = None
) -> Config:
    """Load defaults + TOML file + environment; raise ``ConfigError`` naming key and source."""
    env = dict(os.environ) if env is None else env
    path = _config_path(path, env, home)
    data = _read_file(path) if path is not None else {}
    env_src = _apply_env(env, data)
    return _validate(data, env_src, str(path) if path is not None else _DEFAULTS)


def _config_path(path: Path | None, env: dict[str, str], home: Path | None) -> Path | None:
    """The file to read: ``path``, else ``$SESSIONTAPE_CONFIG``, else ``<home>/sessiontape.toml``
    when it exists, else none (the embedded defaults)."""
    if path is None and env.get("SESSIONTAPE_CONFIG"):
        path = Path(env["SESSIONTAPE_CONFIG"])
    if path is None and home is not None and (home / "sessiontape.toml").is_file():
        path = home / "sessiontape.toml"
    return path


def _read_file(path: Path) -> dict[str, dict[str, Any]]:
    """The file layer: its tables by section name; a name that is no section is refused."""
    data: dict[str, dict[str, Any]] = {}
    for sec, body in read_toml(path).items():
        if sec not in _SECTIONS:
            raise ConfigError(f"{path}: unknown section [{sec}]")
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: [{sec}] must be a table")
        data[sec] = dict(body)
    return data


def _apply_env(env: dict[str, str], data: dict[str, dict[str, Any]]) -> dict[tuple[str, str], str]:
    """The environment layer, written over ``data``; returns the variable behind each key."""
    env_src: dict[tuple[str, str], str] = {}
    for var, value in env.items():
        if not var.startswith("SESSIONTAPE_") or var in _NON_CONFIG_ENV:
            continue
        sec, key = _env_key(var)
        model = _SECTIONS[sec]
        if key not in model.model_fields:
            raise ConfigError(f"environment variable {var}: unknown key {sec}.{key}")
        data.setdefault(sec, {})[key] = _coerce_env(value, model.model_fields[key].annotation)
        env_src[(sec, key)] = var
    return env_src


def _env_key(var: str) -> tuple[str, str]:
    """``SESSIONTAPE_<SECTION>_<KEY>`` (or an alias) -> (section, key); the longest section
    name that fits wins."""
    if var in ENV_ALIASES:
        return ENV_ALIASES[var]
    rest = var[len("SESSIONTAPE_") :].lower()
    sec = next(
        (s for s in sorted(_SECTIONS, key=len, reverse=True) if rest.startswith(s + "_")),
        "",
    )
    if not sec:
        raise ConfigError(f"environment variable {var}: no config section matches")
    return sec, rest[len(sec) + 1 :]


def _coerce_env(raw: str, annotation: Any) -> Any:
    """Environment values are strings; lists accept comma-separated values."""
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        return [x for x in raw.split(",") if x]
    return raw


def _validate(
    data: dict[str, dict[str, Any]], env_src: dict[tuple[str, str], str], source: str
) -> Config:
    """Validate section by section; the first error names the key and where its value came
    from (the environment variable, else ``source``)."""
    sections: dict[str, Section] = {}
    for sec, model in _SECTIONS.items():
        try:
            sections[sec] = model.model_validate(data.get(sec, {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            where = env_src.get((sec, str(err["loc"][0])) if err["loc"] else ("", ""))
            src = f"environment variable {where}" if where else source
            raise ConfigError(f"{src}: {sec}.{loc}: {msg}") from None
    return Config.model_validate({**sections, "source": source})


def default_home(env: dict[str, str] | None = None) -> Path:
    """The state directory: ``$SESSIONTAPE_HOME`` or the platform's user data dir."""
    env = dict(os.environ) if env is None else env
    if env.get("SESSIONTAPE_HOME"):
        return Path(env["SESSIONTAPE_HOME"])
    import platformdirs

    return Path(platformdirs.user_data_dir("sessiontape", appauthor=False))
