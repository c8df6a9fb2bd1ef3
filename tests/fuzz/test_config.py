"""Fuzzing the config and masking-rules loaders: a value, or ``ConfigError``/``MaskError``.

Documents are generated TOML (known sections and keys with values of every TOML type, and
unknown ones) or arbitrary bytes. A masking file that loads must also compile
(:meth:`agent.mask.masker.Masker.build`): a rule that validates but cannot be compiled would
stop the agent with an internal error instead of a message naming the rule.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import currently_in_test_context, event, given
from hypothesis import strategies as st

from agent.config import Config, load_config
from agent.configbase import Section
from agent.errors import ConfigError, MaskError
from agent.mask.masker import Masker
from agent.mask.rules import RULE_KINDS, load_rules_file
from agent.mask.testing import TEST_HMAC_KEY
from tests.fuzz import tomlgen
from tests.fuzz.profiles import budget

SECTIONS: dict[str, list[str]] = {
    name: sorted(f.annotation.model_fields)
    for name, f in Config.model_fields.items()
    if isinstance(f.annotation, type) and issubclass(f.annotation, Section)
}
PLAUSIBLE = st.one_of(
    st.integers(-5, 10**6),
    st.sampled_from(["6y", "90d", "0y", "99999999999y", "3y", "x", "strict", "debug", ""]),
    st.lists(st.text(max_size=6), max_size=3),
    st.dictionaries(
        st.sampled_from(["default", "orders", "x"]), st.sampled_from(["6y", "1d", "q"])
    ),
    st.lists(st.fixed_dictionaries({"class": st.sampled_from(["default", "nope"])}), max_size=2),
    tomlgen.VALUES,
)
CONFIG_DOCS = tomlgen.tables(
    sorted(SECTIONS), sorted({k for keys in SECTIONS.values() for k in keys}), PLAUSIBLE
).map(tomlgen.dumps)
ANY_BYTES = st.binary(max_size=300) | st.text(max_size=200).map(
    lambda s: s.encode("utf-8", "surrogatepass")
)


def _note(outcome: str) -> None:
    """Count outcomes in ``--hypothesis-show-statistics`` (both sides must be reached)."""
    if currently_in_test_context():
        event(outcome)


def _write(data: bytes | str) -> tuple[tempfile.TemporaryDirectory[str], Path]:
    tmp = tempfile.TemporaryDirectory(prefix="st-fuzz-")
    path = Path(tmp.name) / "file.toml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return tmp, path


def check_config(data: bytes | str) -> Config | None:
    """The property: ``load_config`` gives a Config or raises ConfigError."""
    tmp, path = _write(data)
    with tmp:
        try:
            cfg = load_config(path, env={})
        except ConfigError:
            _note("config: ConfigError")
            return None
        _note("config: loaded")
        return cfg


@budget(200)
@given(CONFIG_DOCS)
def test_generated_config_loads_or_names_the_key(doc: str) -> None:
    """Known and unknown sections and keys, values of every TOML type."""
    check_config(doc)


@budget(100)
@given(ANY_BYTES)
def test_arbitrary_bytes_as_config_are_a_config_error(data: bytes) -> None:
    """Not TOML, not UTF-8, empty: a Config (empty file) or ConfigError."""
    check_config(data)


_rule = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["r1", "r2", "builtin.x", "Bad Id"]) | st.text(max_size=6),
        "kind": st.sampled_from([*RULE_KINDS, "nope"]),
        "mode": st.sampled_from(["redact", "tokenize", "escrow", "keep", "nope"]),
    },
    optional={
        "selector": st.sampled_from(["#a", "input[name=x]", "a > b", "[", "*", "a:has(b)"])
        | st.text(max_size=10),
        "regex": st.sampled_from([r"\d{3}", "(", "a|", "(?<=a+)b", "x*"]) | st.text(max_size=8),
        "types": st.lists(st.text(max_size=5), max_size=3) | tomlgen.VALUES,
        "name": st.text(max_size=5) | tomlgen.VALUES,
        "values": st.lists(st.text(max_size=5), max_size=3),
        "names": st.lists(
            st.sampled_from(["*", "pass*", "[", "a"]) | st.text(max_size=5), max_size=3
        ),
        "paths": st.lists(
            st.sampled_from(["$.a", "$..b", "$.a.*", "$", "$...x"]) | st.text(max_size=6),
            max_size=3,
        ),
        "check": st.sampled_from(["none", "luhn", "mod97", "x"]),
        "ignore_case": st.booleans() | tomlgen.VALUES,
        "normalize": st.sampled_from(["none", "trim", "digits", "alnum_upper", "casefold", "x"]),
        "description": tomlgen.VALUES,
    },
)
MASKING_DOCS = st.fixed_dictionaries(
    {"version": st.just(1) | tomlgen.VALUES},
    optional={
        "rules": st.lists(_rule, min_size=1, max_size=4),
        "defaults": st.fixed_dictionaries(
            {},
            optional={
                "input_mode": st.sampled_from(["tokenize", "escrow", "redact", "keep"]),
                "max_scan_chars": st.integers(-1, 10**7) | tomlgen.VALUES,
                "masked_attributes": st.lists(st.text(max_size=5), max_size=3),
            },
        ),
        "escrow": st.fixed_dictionaries(
            {},
            optional={
                "public_key": st.sampled_from(["", "AAAA", "!!", "A" * 43 + "="])
                | st.text(max_size=8),
                "officer": tomlgen.VALUES,
            },
        ),
    },
).map(tomlgen.dumps)


def check_rules(data: bytes | str) -> Masker | None:
    """The property: the masking file loads and compiles, or raises MaskError."""
    tmp, path = _write(data)
    with tmp:
        try:
            masker = Masker.build(load_rules_file(path), TEST_HMAC_KEY)
        except MaskError:
            _note("rules: MaskError")
            return None
        _note("rules: loaded and compiled")
        return masker


@budget(200)
@given(MASKING_DOCS)
def test_generated_masking_file_loads_and_compiles_or_names_the_rule(doc: str) -> None:
    """Rules of every kind with good and bad selectors, regexes, paths and modes."""
    check_rules(doc)


@budget(100)
@given(ANY_BYTES)
def test_arbitrary_bytes_as_masking_file_are_a_mask_error(data: bytes) -> None:
    """Not TOML or not a masking file: MaskError."""
    check_rules(data)


@pytest.mark.parametrize("doc", ['[agent]\nidentity = "x"\n'])
def test_a_valid_document_loads(doc: str) -> None:
    """The baseline: a valid document is a Config (so the properties can see both sides)."""
    cfg = check_config(doc)
    assert cfg is not None and cfg.agent.identity == "x"
