"""Configuration: frozen pydantic models, validated when loaded.

Sources, later wins: the embedded defaults (the field defaults below, documented key by key
in ``config/sessiontape.toml``), a TOML file (``--config``, ``$SESSIONTAPE_CONFIG`` or
``<home>/sessiontape.toml``), then environment variables ``SESSIONTAPE_<SECTION>_<KEY>``
(e.g. ``SESSIONTAPE_JOURNAL_CHUNK_MAX_EVENTS=500``) plus the aliases in ``ENV_ALIASES``.
An unknown key or a wrong type is a :class:`ConfigError` naming the key and the source.

Each stage owns its section; adding a key means adding it here *and* to
``config/sessiontape.toml`` (a test fails otherwise).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentConfig(_Section):
    identity: str = ""  # configured user identity; empty = OS user
    workstation: str = ""  # workstation name; empty = hostname
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class JournalConfig(_Section):
    rotate_seconds: int = Field(300, ge=1)
    rotate_bytes: int = Field(256 * 1024 * 1024, ge=64 * 1024)
    chunk_max_ms: int = Field(100, ge=1)
    chunk_max_events: int = Field(1000, ge=1)
    zstd_level: int = Field(1, ge=1, le=22)
    clock_jump_threshold_ms: int = Field(1000, ge=1)
    durability: Literal["strict", "best_effort"] = "best_effort"


class SealConfig(_Section):
    checkpoint_active_seconds: int = Field(2, ge=1)
    checkpoint_idle_seconds: int = Field(30, ge=1)
    tsa_url: str = ""  # RFC 3161 TSA endpoint; empty = no timestamp token
    tsa_timeout_seconds: int = Field(10, ge=1)
    tsa_roots: list[str] = []  # PEM files of trusted TSA root certificates (for verify)


_SECTIONS: dict[str, type[_Section]] = {
    "agent": AgentConfig,
    "journal": JournalConfig,
    "seal": SealConfig,
}

# Environment variables with a name the issues promise, beyond SESSIONTAPE_<SECTION>_<KEY>.
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "SESSIONTAPE_VAULT_URL": ("ship", "vault_url"),
}


def register_section(name: str, model: type[_Section]) -> None:
    """Let a stage add its config section (called at import of the stage's config module)."""
    _SECTIONS[name] = model


class Config:
    """The loaded, validated, frozen configuration: one attribute per section."""

    def __init__(self, sections: dict[str, _Section], source: str) -> None:
        self._sections = sections
        self.source = source

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_sections"][name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        """All sections as plain dicts."""
        return {k: v.model_dump() for k, v in self._sections.items()}


def _coerce_env(raw: str, annotation: Any) -> Any:
    """Environment values are strings; lists accept comma-separated values."""
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        return [x for x in raw.split(",") if x]
    return raw


def load_config(
    path: Path | None = None, *, env: dict[str, str] | None = None, home: Path | None = None
) -> Config:
    """Load defaults + TOML file + environment; raise ``ConfigError`` naming key and source."""
    _import_stage_sections()
    env = dict(os.environ) if env is None else env
    data: dict[str, dict[str, Any]] = {}
    source = "embedded defaults"
    if path is None and env.get("SESSIONTAPE_CONFIG"):
        path = Path(env["SESSIONTAPE_CONFIG"])
    if path is None and home is not None and (home / "sessiontape.toml").is_file():
        path = home / "sessiontape.toml"
    if path is not None:
        source = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        for sec, body in raw.items():
            if sec not in _SECTIONS:
                raise ConfigError(f"{path}: unknown section [{sec}]")
            if not isinstance(body, dict):
                raise ConfigError(f"{path}: [{sec}] must be a table")
            data[sec] = dict(body)
    # environment overrides
    env_src: dict[tuple[str, str], str] = {}
    for var, value in env.items():
        if not var.startswith("SESSIONTAPE_") or var in _NON_CONFIG_ENV:
            continue
        if var in ENV_ALIASES:
            sec, key = ENV_ALIASES[var]
        else:
            rest = var[len("SESSIONTAPE_") :].lower()
            sec = next(
                (s for s in sorted(_SECTIONS, key=len, reverse=True) if rest.startswith(s + "_")),
                "",
            )
            if not sec:
                raise ConfigError(f"environment variable {var}: no config section matches")
            key = rest[len(sec) + 1 :]
        model = _SECTIONS[sec]
        if key not in model.model_fields:
            raise ConfigError(f"environment variable {var}: unknown key {sec}.{key}")
        data.setdefault(sec, {})[key] = _coerce_env(value, model.model_fields[key].annotation)
        env_src[(sec, key)] = var
    sections: dict[str, _Section] = {}
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
    return Config(sections, source)


_NON_CONFIG_ENV = {
    "SESSIONTAPE_HOME",
    "SESSIONTAPE_CONFIG",
    "SESSIONTAPE_S3_TEST_URL",
    "SESSIONTAPE_ACTOR",
}


def _import_stage_sections() -> None:
    """Stages register their sections in their own ``config`` modules; import them here."""
    import importlib

    for mod in (
        "agent.capture.config",
        "agent.mask.config",
        "agent.ship.config",
        "agent.index.config",
        "agent.replay.config",
    ):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def default_home(env: dict[str, str] | None = None) -> Path:
    """The state directory: ``$SESSIONTAPE_HOME`` or the platform's user data dir."""
    env = dict(os.environ) if env is None else env
    if env.get("SESSIONTAPE_HOME"):
        return Path(env["SESSIONTAPE_HOME"])
    import platformdirs

    return Path(platformdirs.user_data_dir("sessiontape", appauthor=False))
