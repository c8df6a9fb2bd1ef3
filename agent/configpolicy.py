"""The system configuration file and its ``[policy] locked`` keys.

The system file is :data:`SYSTEM_CONFIG` (``/etc/sessiontape/sessiontape.toml``), written by
central IT. Its ``[policy]`` table names keys (``"ship.vault_url"``) or whole sections
(``"mask"``) whose system value - the one in the system file, else the embedded default -
wins over every later layer: the user file, the environment and command-line flags.

Rules, each against a recorded user who wants out of the policy:

* The system file and its directory must be owned by root and not group- or
  world-writable, else a :class:`ConfigError` (the recorded user must not be able to write
  or replace policy).
* ``locked`` names ``"section"`` or ``"section.key"``; a table inside a section
  (``"seal.keys"``) is locked whole, its own keys cannot be named one by one.
* ``$SESSIONTAPE_SYSTEM_CONFIG`` names another system file only while the real one does not
  exist (test suites, workstations without central policy): where central IT installed a
  policy, no variable of the user's can replace it.
* An attempt to override a locked key with a *different* value is not silently ignored and
  does not stop the program: the locked value stays in force and one warning line names the
  key, where the override came from and the lock's file (:func:`lock_warning`). A warning,
  not a refused start, because a refused start would let the recorded user stop the
  recording with one environment variable. An override equal to the locked value is a
  harmless duplicate and is accepted without a word.
* An unknown key in ``locked`` is a :class:`ConfigError` naming the file; ``[policy]`` in any
  file but the system file is one too.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agent.configbase import Section
from agent.errors import ConfigError

SYSTEM_CONFIG = Path("/etc/sessiontape/sessiontape.toml")
"""The system file; a constant so that no flag or setting of the user's can move it."""

SYSTEM_ENV = "SESSIONTAPE_SYSTEM_CONFIG"


def system_path(env: dict[str, str], real: Path = SYSTEM_CONFIG) -> Path | None:
    """The system file to read: ``real`` when it exists (whatever ``$SESSIONTAPE_SYSTEM_CONFIG``
    says), else the file that variable names, else none."""
    if real.exists():
        return real
    if env.get(SYSTEM_ENV):
        return Path(env[SYSTEM_ENV])
    return None


def check_system_file(path: Path) -> None:
    """Refuse a system file the recorded user could have written or replaced: the file or
    its directory owned by anyone but root, or writable by group or others."""
    _check_root_only(path, "system config file")
    _check_root_only(path.resolve().parent, "system config directory")


def _check_root_only(path: Path, what: str) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if st.st_uid != 0:
        raise ConfigError(f"{path}: {what} must be owned by root (owner uid {st.st_uid})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = stat.S_IMODE(st.st_mode)
        raise ConfigError(f"{path}: {what} must not be group- or world-writable (mode {mode:04o})")


@dataclass
class Locks:
    """The locked keys as (section, key) pairs and the file that locked them."""

    keys: set[tuple[str, str]] = field(default_factory=set)
    file: str = ""

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self.keys


def parse_locks(path: Path, policy: Any, sections: dict[str, type[Section]]) -> Locks:
    """``[policy] locked = [...]`` of the system file at ``path`` -> :class:`Locks`."""
    if not isinstance(policy, dict) or set(policy) - {"locked"}:
        raise ConfigError(f'{path}: [policy] takes one key, locked = ["section.key", ...]')
    names = policy.get("locked", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{path}: policy.locked must be a list of strings")
    locks = Locks(file=str(path))
    for name in names:
        sec, _, key = name.partition(".")
        model = sections.get(sec)
        if model is None or (key and key not in model.model_fields) or "." in key:
            raise ConfigError(f"{path}: policy.locked: unknown key {name!r}")
        keys = [key] if key else list(model.model_fields)
        locks.keys.update((sec, k) for k in keys)
    return locks


def same_value(model: type[Section], key: str, a: Any, b: Any) -> bool:
    """Whether two raw values of ``model.key`` mean the same (``"500"`` from the environment
    equals ``500`` from a file); a value that does not validate differs."""
    annotation: Any = model.model_fields[key].annotation
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    try:
        return bool(adapter.validate_python(a) == adapter.validate_python(b))
    except ValidationError:
        return False


def lock_warning(sec: str, key: str, source: str, lock_file: str) -> str:
    """The one line printed when ``source`` tries to change a locked key."""
    return (
        f"sessiontape: warning: {sec}.{key} is locked by {lock_file}; "
        f"the value from {source} is ignored"
    )
