"""Configuration: the embedded defaults, the documented file, clear errors, env overrides."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "config" / "sessiontape.toml"


def test_documented_config_file_equals_the_embedded_defaults() -> None:
    """config/sessiontape.toml lists every key with its default value, and nothing else."""
    documented = tomllib.loads(DOC.read_text())
    defaults = load_config(env={}).as_dict()
    assert set(documented) == set(defaults), "sections differ"
    for sec, keys in defaults.items():
        assert set(documented[sec]) == set(keys), f"[{sec}] keys differ"
        for k, v in keys.items():
            assert documented[sec][k] == v, f"{sec}.{k}: documented {documented[sec][k]!r}"


def test_every_documented_key_has_a_comment_line_above_it() -> None:
    """A one-line comment precedes each key in config/sessiontape.toml."""
    lines = DOC.read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith(("#", "[")) and "=" in line and not line.startswith(" "):
            assert lines[i - 1].startswith("#"), f"no comment above {line!r}"


def test_loading_the_documented_file_gives_the_defaults() -> None:
    """The file itself loads (types valid) to the same configuration."""
    assert load_config(DOC, env={}).as_dict() == load_config(env={}).as_dict()


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    """A typo in a key is refused, naming section.key and the file."""
    f = tmp_path / "c.toml"
    f.write_text("[journal]\nchunk_max_event = 5\n")
    with pytest.raises(ConfigError) as e:
        load_config(f, env={})
    assert str(f) in e.value.message and "journal.chunk_max_event: unknown key" in e.value.message


def test_wrong_type_names_the_key_and_the_file(tmp_path: Path) -> None:
    """A string where an integer belongs is refused, naming the key."""
    f = tmp_path / "c.toml"
    f.write_text('[journal]\nrotate_seconds = "five"\n')
    with pytest.raises(ConfigError, match=r"c\.toml: journal\.rotate_seconds"):
        load_config(f, env={})


def test_unknown_section_and_bad_toml_are_clear_errors(tmp_path: Path) -> None:
    """Unknown sections and TOML syntax errors name the file."""
    f = tmp_path / "c.toml"
    f.write_text("[nope]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"unknown section \[nope\]"):
        load_config(f, env={})
    f.write_text("[journal\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(f, env={})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", env={})


def test_environment_overrides_file_and_defaults(tmp_path: Path) -> None:
    """SESSIONTAPE_<SECTION>_<KEY> wins over the file; bad env values name the variable."""
    f = tmp_path / "c.toml"
    f.write_text("[journal]\nchunk_max_events = 10\n")
    c = load_config(f, env={"SESSIONTAPE_JOURNAL_CHUNK_MAX_EVENTS": "77"})
    assert c.journal.chunk_max_events == 77
    with pytest.raises(ConfigError, match="SESSIONTAPE_JOURNAL_NOPE"):
        load_config(env={"SESSIONTAPE_JOURNAL_NOPE": "1"})
    with pytest.raises(ConfigError, match="SESSIONTAPE_JOURNAL_CHUNK_MAX_EVENTS"):
        load_config(env={"SESSIONTAPE_JOURNAL_CHUNK_MAX_EVENTS": "many"})


def test_config_models_are_frozen() -> None:
    """Loaded config cannot be mutated at run time."""
    c = load_config(env={})
    with pytest.raises(Exception, match="frozen"):
        c.journal.chunk_max_events = 3
