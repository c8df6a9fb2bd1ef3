"""Configuration: the embedded defaults, the documented file, clear errors, env overrides."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.capture.config import CaptureConfig
from agent.config import Config, effective_keys, load_config
from agent.configbase import Section
from agent.errors import ConfigError
from tests.cli.clirun import run

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
        c.journal.chunk_max_events = 3  # type: ignore[misc]


def test_unknown_section_in_the_file_is_refused_naming_it_and_the_file(tmp_path: Path) -> None:
    """A misspelt section is not ignored: the error names the section and the file."""
    f = tmp_path / "c.toml"
    f.write_text("[captur]\nflush_ms = 50\n")
    with pytest.raises(ConfigError) as e:
        load_config(f, env={})
    assert e.value.message == f"{f}: unknown section [captur]"


def test_every_section_is_a_typed_attribute_of_the_config() -> None:
    """Each section of as_dict() is a Section model attribute; capture is a CaptureConfig."""
    c = load_config(env={})
    assert c.capture.flush_ms == 150
    assert isinstance(c.capture, CaptureConfig)
    assert list(c.as_dict()) == [
        "agent",
        "journal",
        "seal",
        "capture",
        "mask",
        "ship",
        "index",
        "replay",
        "console",
        "kiosk",
    ]
    for sec, values in c.as_dict().items():
        assert isinstance(getattr(c, sec), Section), sec
        assert getattr(c, sec).model_dump() == values


def test_source_names_the_file_or_the_embedded_defaults_and_is_not_a_section(
    tmp_path: Path,
) -> None:
    """Config.source says where the values came from; as_dict() holds only sections."""
    f = tmp_path / "c.toml"
    f.write_text("[capture]\nflush_ms = 50\n")
    c = load_config(f, env={})
    assert (c.source, c.capture.flush_ms) == (str(f), 50)
    assert load_config(env={}).source == "embedded defaults"
    assert "source" not in c.as_dict()


def test_config_itself_is_frozen_and_refuses_unknown_sections() -> None:
    """A section cannot be swapped at run time, and a Config cannot be built with a typo."""
    c = load_config(env={})
    with pytest.raises(ValidationError, match="frozen"):
        c.capture = CaptureConfig(flush_ms=50)  # type: ignore[misc]
    with pytest.raises(ValidationError, match="captur"):
        Config.model_validate({"captur": {}})


def test_config_path_naming_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    """--config DIR and $SESSIONTAPE_CONFIG=DIR: a ConfigError naming the directory."""
    expected = f"{tmp_path}: config file is a directory, not a file"
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path, env={})
    assert e.value.message == expected
    with pytest.raises(ConfigError) as e:
        load_config(env={"SESSIONTAPE_CONFIG": str(tmp_path)})
    assert e.value.message == expected


def test_config_file_that_cannot_be_read_is_a_one_line_error(tmp_path: Path) -> None:
    """A path the OS refuses to read (here: below a regular file) names the path and why."""
    f = tmp_path / "c.toml"
    f.write_text("")
    below = f / "sessiontape.toml"
    expected = f"{below}: cannot read config file: Not a directory"
    with pytest.raises(ConfigError) as e:
        load_config(below, env={})
    assert e.value.message == expected
    with pytest.raises(ConfigError) as e:
        load_config(env={"SESSIONTAPE_CONFIG": str(below)})
    assert e.value.message == expected


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_config_file_without_read_permission_is_a_one_line_error(tmp_path: Path) -> None:
    """A mode 000 file: the error names the file and 'Permission denied'."""
    f = tmp_path / "c.toml"
    f.write_text("")
    f.chmod(0)
    with pytest.raises(ConfigError, match="cannot read config file: Permission denied"):
        load_config(f, env={})


def test_config_file_that_is_not_utf8_is_not_valid_toml(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are a ConfigError naming the file, like a TOML syntax error."""
    f = tmp_path / "c.toml"
    f.write_bytes(b"[journal]\nrotate_seconds = 5 # \xff\n")
    with pytest.raises(ConfigError, match=r"c\.toml: not valid TOML"):
        load_config(f, env={})


def test_cli_with_a_directory_as_config_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    """`sessiontape --config DIR` and SESSIONTAPE_CONFIG=DIR: one error line, exit code 2."""
    line = f"sessiontape: error: {tmp_path}: config file is a directory, not a file\n"
    r = run("--config", str(tmp_path), "keys", "init", home=tmp_path / "h")
    assert (r.code, r.err) == (2, line)
    r = run("keys", "init", home=tmp_path / "h", env={"SESSIONTAPE_CONFIG": str(tmp_path)})
    assert (r.code, r.err) == (2, line)


def test_list_environment_variable_is_json() -> None:
    """SESSIONTAPE_CAPTURE_EXTRA_ARGS='["--kiosk", "--a,b"]' is a JSON list: no comma split."""
    c = load_config(env={"SESSIONTAPE_CAPTURE_EXTRA_ARGS": '["--kiosk", "--a,b"]'})
    assert c.capture.extra_args == ["--kiosk", "--a,b"]
    t = load_config(env={"SESSIONTAPE_SHIP_RETENTION_CLASSES": '{"default": "7y"}'})
    assert t.ship.retention_classes == {"default": "7y"}


def test_non_json_list_environment_variable_is_an_error_naming_it() -> None:
    """A comma-separated value for a list key is refused, naming the variable and the key."""
    with pytest.raises(ConfigError) as e:
        load_config(env={"SESSIONTAPE_CAPTURE_EXTRA_ARGS": "--kiosk,--foo"})
    assert e.value.message == (
        "environment variable SESSIONTAPE_CAPTURE_EXTRA_ARGS: capture.extra_args takes a "
        'JSON list (e.g. ["a", "b"]), not \'--kiosk,--foo\': Expecting value'
    )


def test_json_of_the_wrong_shape_names_the_variable() -> None:
    """Valid JSON that is not a list fails validation naming the variable."""
    with pytest.raises(ConfigError, match="environment variable SESSIONTAPE_CAPTURE_EXTRA_ARGS"):
        load_config(env={"SESSIONTAPE_CAPTURE_EXTRA_ARGS": '"--kiosk"'})


def test_effective_keys_name_each_source(tmp_path: Path) -> None:
    """Every key is listed once, with default, user:FILE or env:VAR as its source."""
    f = tmp_path / "c.toml"
    f.write_text("[journal]\nzstd_level = 3\n")
    rows = effective_keys(load_config(f, env={"SESSIONTAPE_VAULT_URL": "file:///v"}))
    by_key = {r["key"]: r for r in rows}
    assert len(by_key) == len(rows)
    assert by_key["journal.zstd_level"] == {
        "key": "journal.zstd_level",
        "value": 3,
        "source": f"user:{f}",
        "locked": False,
    }
    assert by_key["ship.vault_url"]["source"] == "env:SESSIONTAPE_VAULT_URL"
    assert by_key["journal.rotate_seconds"]["source"] == "default"
