"""Configuration: frozen pydantic models, validated when loaded.

Sources, later wins: the embedded defaults (the field defaults below, documented key by key
in ``config/sessiontape.toml``), the system file ``/etc/sessiontape/sessiontape.toml``
(central IT's), the user file (``--config``, ``$SESSIONTAPE_CONFIG`` or
``<home>/sessiontape.toml``), environment variables ``SESSIONTAPE_<SECTION>_<KEY>``
(e.g. ``SESSIONTAPE_JOURNAL_CHUNK_MAX_EVENTS=500``) plus the aliases in ``ENV_ALIASES``, then
command-line flags that stand for a key (:func:`override`). A list- or table-valued variable
is JSON (``SESSIONTAPE_CAPTURE_EXTRA_ARGS='["--kiosk"]'``); anything else is a
:class:`ConfigError` naming the variable. An unknown section or key, or a wrong type, is a
:class:`ConfigError` naming the key and the source.

Locked keys: the system file's ``[policy] locked = ["ship.vault_url", "mask", ...]`` names
keys (or whole sections) whose system value - the system file's, else the default - wins over
the user file, the environment and flags. A later layer that tries a different value leaves
the locked value in force and yields one warning line (``Config.warnings``, printed by the
CLI): ``sessiontape: warning: ship.vault_url is locked by /etc/sessiontape/sessiontape.toml;
the value from env:SESSIONTAPE_VAULT_URL is ignored``. The program goes on: refusing to start
would let the recorded user stop the recording with one variable. The system file must be
root-owned and not group/world-writable (its directory too); ``$SESSIONTAPE_SYSTEM_CONFIG``
names another one only while the real file does not exist (tests, machines without central
policy).
:mod:`agent.configpolicy` holds these rules. ``Config.provenance`` records where each set key
came from (``system:PATH``, ``user:PATH``, ``env:VAR``, ``flag:--FLAG``; absent = default), as
``sessiontape config show`` prints.

Each stage owns its section model (``agent/<stage>/config.py``); :class:`Config` has one typed
field per section, and the loader takes its list of sections from those fields. Adding a key
means adding it to the section model *and* to ``config/sessiontape.toml`` (a test fails
otherwise); adding a section means a field on :class:`Config` too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.capture.config import CaptureConfig
from agent.configbase import Section
from agent.configpolicy import (
    SYSTEM_CONFIG,
    SYSTEM_ENV,
    Locks,
    check_system_file,
    lock_warning,
    parse_locks,
    same_value,
    system_path,
)
from agent.console.config import ConsoleConfig
from agent.errors import ConfigError
from agent.index.config import IndexConfig
from agent.keystore.config import FirmConfig, FirmKeysConfig, KeysConfig
from agent.kiosk.config import KioskConfig
from agent.mask.config import MaskConfig
from agent.replay.config import ReplayConfig
from agent.ship.config import ShipConfig
from agent.tomlfile import read_toml


class AgentConfig(Section):
    identity: str = ""  # configured user identity; empty = OS user
    workstation: str = ""  # workstation name; empty = hostname
    application: str = ""  # the application this desk records (ship.class_rules may match it)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # `sessiontape agent`, the workstation service (agent.workstation)
    profile_dir: str = ""  # the recorded browser's persistent profile; empty = <home>/profile
    downloads_dir: str = ""  # where that browser's downloads go; empty = <home>/downloads
    start_pages: list[str] = ["about:blank"]  # one tab per URL at every (re)launch
    on_close: Literal["relaunch", "end"] = "relaunch"  # when the user closes the last window
    index_interval_seconds: int = Field(300, ge=0)  # local index update; 0 = never
    metrics_listen: str = ""  # "host:port" of a TCP /metrics listener; "" = the socket only
    metrics_listen_remote: bool = False  # allow a non-loopback metrics_listen
    # Local time "HH:MM" (or "HH:MM:SS") at which the workstation service starts the day's
    # new session, linked to the previous one; "" = no daily rotation (a login still starts
    # a new linked session).
    rotate_at: str = Field("00:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?)?$")

    @model_validator(mode="after")
    def _metrics_listen_is_loopback(self) -> AgentConfig:
        from agent.health.listen import parse_listen

        parse_listen(self.metrics_listen, allow_remote=self.metrics_listen_remote)
        return self


class JournalConfig(Section):
    rotate_seconds: int = Field(300, ge=1)
    rotate_bytes: int = Field(256 * 1024 * 1024, ge=64 * 1024)
    chunk_max_ms: int = Field(2, ge=1)
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
    SYSTEM_ENV,
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
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    kiosk: KioskConfig = Field(default_factory=KioskConfig)
    source: str = _DEFAULTS  # the file it was loaded from, or the embedded defaults
    provenance: dict[str, str] = {}  # "section.key" -> "system:PATH", "user:PATH", "env:VAR", ...
    locked: list[str] = []  # "section.key" locked by the system file's [policy]
    lock_file: str = ""  # the system file that locked them
    warnings: list[str] = []  # lock warnings raised while loading, one line each

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
    path: Path | None = None,
    *,
    env: dict[str, str] | None = None,
    home: Path | None = None,
    system: Path | None = SYSTEM_CONFIG,
) -> Config:
    """Load defaults + system file + user file + environment; raise ``ConfigError`` naming
    key and source. ``system`` is the real system file's path (a parameter for the Python API
    only; no command-line flag sets it)."""
    env = dict(os.environ) if env is None else env
    sys_path = system_path(env, system) if system is not None else None
    path = _config_path(path, env, home)
    layers: list[_Layer] = []
    locks = Locks()
    if sys_path is not None:
        check_system_file(sys_path)
        sys_data, locks = _read_file(sys_path, system=True)
        layers.append(_file_layer(sys_data, f"system:{sys_path}"))
    if path is not None:
        layers.append(_file_layer(_read_file(path)[0], f"user:{path}"))
    layers.append(_env_layer(env))
    data, prov, warnings = _merge(layers, locks)
    source = str(path or sys_path or _DEFAULTS)
    cfg = _validate(data, prov, source)
    return cfg.model_copy(
        update={
            "provenance": prov,
            "locked": sorted(f"{s}.{k}" for s, k in locks.keys),
            "lock_file": locks.file,
            "warnings": warnings,
        }
    )


# One layer of settings: (section, key, raw value, source label) in the order given.
_Layer = list[tuple[str, str, Any, str]]


def _config_path(path: Path | None, env: dict[str, str], home: Path | None) -> Path | None:
    """The file to read: ``path``, else ``$SESSIONTAPE_CONFIG``, else ``<home>/sessiontape.toml``
    when it exists, else none (the embedded defaults)."""
    if path is None and env.get("SESSIONTAPE_CONFIG"):
        path = Path(env["SESSIONTAPE_CONFIG"])
    if path is None and home is not None and (home / "sessiontape.toml").is_file():
        path = home / "sessiontape.toml"
    return path


def _read_file(path: Path, *, system: bool = False) -> tuple[dict[str, dict[str, Any]], Locks]:
    """A file's tables by section name, and its locks (``[policy]``, system file only); a
    name that is no section is refused."""
    data: dict[str, dict[str, Any]] = {}
    locks = Locks()
    for sec, body in read_toml(path).items():
        if sec == "policy" and system:
            locks = parse_locks(path, body, _SECTIONS)
            continue
        if sec == "policy":
            raise ConfigError(f"{path}: [policy] belongs in the system config file only")
        if sec not in _SECTIONS:
            raise ConfigError(f"{path}: unknown section [{sec}]")
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: [{sec}] must be a table")
        data[sec] = dict(body)
    return data, locks


def _file_layer(data: dict[str, dict[str, Any]], label: str) -> _Layer:
    return [(sec, key, value, label) for sec, body in data.items() for key, value in body.items()]


def _env_layer(env: dict[str, str]) -> _Layer:
    """The environment layer: one entry per ``SESSIONTAPE_*`` config variable."""
    layer: _Layer = []
    for var, value in env.items():
        if not var.startswith("SESSIONTAPE_") or var in _NON_CONFIG_ENV:
            continue
        sec, key = _env_key(var)
        model = _SECTIONS[sec]
        if key not in model.model_fields:
            raise ConfigError(f"environment variable {var}: unknown key {sec}.{key}")
        parsed = _coerce_env(var, f"{sec}.{key}", value, model.model_fields[key].annotation)
        layer.append((sec, key, parsed, f"env:{var}"))
    return layer


def _merge(
    layers: list[_Layer], locks: Locks
) -> tuple[dict[str, dict[str, Any]], dict[str, str], list[str]]:
    """Write the layers over each other in order; a locked key keeps its system value (the
    first layer's, else the default) and a different value from a later layer becomes a
    warning. Returns the data, the source label of each set key and the warnings."""
    data: dict[str, dict[str, Any]] = {}
    prov: dict[str, str] = {}
    warnings: list[str] = []
    for layer in layers:
        for sec, key, value, label in layer:
            if (sec, key) in locks and not label.startswith("system:"):
                locked = data.get(sec, {}).get(key, _default(sec, key))
                if not same_value(_SECTIONS[sec], key, value, locked):
                    warnings.append(lock_warning(sec, key, label, locks.file))
                continue
            data.setdefault(sec, {})[key] = value
            prov[f"{sec}.{key}"] = label
    return data, prov, warnings


def _default(sec: str, key: str) -> Any:
    return getattr(_SECTIONS[sec](), key)


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


def _coerce_env(var: str, name: str, raw: str, annotation: Any) -> Any:
    """Environment values are strings; a list or table key takes JSON
    (``SESSIONTAPE_CAPTURE_EXTRA_ARGS='["--kiosk"]'``), anything else the string itself."""
    origin = getattr(annotation, "__origin__", None)
    table = origin is dict or (isinstance(annotation, type) and issubclass(annotation, Section))
    if origin is not list and not table:
        return raw
    kind, example = ("list", '["a", "b"]') if origin is list else ("table", '{"k": "v"}')
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"environment variable {var}: {name} takes a JSON {kind} (e.g. {example}), "
            f"not {raw!r}: {exc.msg}"
        ) from None


def _error_source(label: str | None, fallback: str) -> str:
    """A source label as error messages name it: the file, or the environment variable."""
    if label is None:
        return fallback
    kind, _, where = label.partition(":")
    return f"environment variable {where}" if kind == "env" else where


def _validate(data: dict[str, dict[str, Any]], prov: dict[str, str], source: str) -> Config:
    """Validate section by section; the first error names the key and where its value came
    from (the environment variable or the file, else ``source``)."""
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
            label = prov.get(f"{sec}.{err['loc'][0]}") if err["loc"] else None
            raise ConfigError(f"{_error_source(label, source)}: {sec}.{loc}: {msg}") from None
    return Config.model_validate({**sections, "source": source})


def override(cfg: Config, dotted: str, value: Any, flag: str) -> tuple[Config, str | None]:
    """``cfg`` with ``dotted`` (``"section.key"``) set from command-line ``flag``, validated;
    a locked key keeps its value and a different ``value`` gives the warning line instead.
    Every flag that stands for a config key goes through here."""
    sec, _, key = dotted.partition(".")
    model = _SECTIONS[sec]
    label = f"flag:{flag}"
    if dotted in cfg.locked:
        same = same_value(model, key, value, getattr(getattr(cfg, sec), key))
        return cfg, None if same else lock_warning(sec, key, label, cfg.lock_file)
    current = getattr(cfg, sec).model_dump(by_alias=True)
    try:
        section = model.model_validate({**current, key: value})
    except ValidationError as exc:
        raise ConfigError(f"{flag}: {dotted}: {exc.errors()[0]['msg']}") from None
    prov = {**cfg.provenance, dotted: label}
    return cfg.model_copy(update={sec: section, "provenance": prov}), None


def effective_keys(cfg: Config) -> list[dict[str, Any]]:
    """Every key of ``cfg`` as ``{"key", "value", "source", "locked"}``, in file order; the
    source is ``default``, ``system:PATH``, ``user:PATH``, ``env:VAR`` or ``flag:--FLAG``.
    Values are what the config holds (file paths such as ``seal.keys.pin_file``, never the
    contents of those files)."""
    rows: list[dict[str, Any]] = []
    for sec, values in cfg.as_dict().items():
        for key, value in values.items():
            dotted = f"{sec}.{key}"
            rows.append(
                {
                    "key": dotted,
                    "value": value,
                    "source": cfg.provenance.get(dotted, "default"),
                    "locked": dotted in cfg.locked,
                }
            )
    return rows


def default_home(env: dict[str, str] | None = None) -> Path:
    """The state directory: ``$SESSIONTAPE_HOME`` or the platform's user data dir."""
    env = dict(os.environ) if env is None else env
    if env.get("SESSIONTAPE_HOME"):
        return Path(env["SESSIONTAPE_HOME"])
    import platformdirs

    return Path(platformdirs.user_data_dir("sessiontape", appauthor=False))
