"""Fuzzing the search query language: any text parses to a Query or a ``UsageError``.

The property goes one step past the parser: every Query it returns is run against a real
(empty) SQLite index, because a value the parser accepts but SQLite cannot bind (a time
outside 64 bits) or FTS5 cannot read would otherwise crash ``search`` with an internal error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import SessiontapeError, UsageError
from agent.index.query import OPERATORS, Query, parse
from agent.index.sqlite import SqliteIndex
from tests.fuzz.profiles import budget

INT64 = range(-(2**63), 2**63)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteIndex]:
    """An empty index with the real schema."""
    ix = SqliteIndex(tmp_path_factory.mktemp("qidx") / "index.sqlite", key=b"\x05" * 32)
    yield ix
    ix.close()


def _parse_and_search(ix: SqliteIndex, text: str) -> Query | None:
    """The property: ``parse`` and the search it feeds give results or a project error."""
    try:
        q = parse(text)
    except UsageError:
        return None
    assert q.t_from is None or q.t_from in INT64, q.t_from
    assert q.t_to is None or q.t_to in INT64, q.t_to
    with contextlib.suppress(SessiontapeError):
        ix.search(q, 5)
    return q


_two = st.integers(0, 99).map(lambda n: f"{n:02d}")
_day = st.builds(
    lambda y, m, d: f"{y:04d}-{m}-{d}", st.integers(0, 9999), _two, _two
) | st.sampled_from(["0001-01-01", "9999-12-31", "2026-11-26", "1970-01-01", "2262-04-11"])
_clock = st.none() | st.builds(
    lambda h, m, s: f"{h}:{m}" + (f":{s}" if s else ""), _two, _two, st.none() | _two
)
_zone = (
    st.none()
    | st.sampled_from(["Z", "[America/New_York]", "[UTC]", "[Nowhere/Land]"])
    | (
        st.builds(
            lambda sign, h, m, colon: f"{sign}{h}{colon}{m}",
            st.sampled_from("+-"),
            _two,
            _two,
            st.sampled_from(["", ":"]),
        )
    )
)
TIMES = st.builds(
    lambda day, clock, zone: day + (f"T{clock}" if clock else "") + (zone or ""),
    _day,
    _clock,
    _zone,
)
WORDS = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12
).filter(lambda w: not any(c.isspace() for c in w))
TOKENS = st.builds(
    lambda p, h: f"{p}_{h}",
    st.sampled_from(["tok", "esc"]),
    st.text("0123456789abcdef", min_size=16, max_size=16),
)
_op = st.sampled_from([*OPERATORS, "account", "field", "Kind", "FROM", ""])
_value = (
    WORDS
    | TIMES
    | TOKENS
    | st.sampled_from(["net", "net.request", "click", "yes", "no", "maybe", "*", "a*"])
    | WORDS.map(lambda w: '"' + w.replace('"', '""') + '"')
)
ITEMS = (
    st.builds(lambda op, v: f"{op}:{v}", _op, _value)
    | WORDS
    | WORDS.map(lambda w: '"' + w + '"')
    | st.sampled_from(['"', '""', "*", ":", "a:", ":b", "acc*", "-", "NOT", "OR", "NEAR("])
)
QUERIES = st.lists(ITEMS, max_size=6).map(" ".join)


@budget(200)
@given(st.text(max_size=80))
def test_any_text_is_a_query_or_a_usage_error(index: SqliteIndex, text: str) -> None:
    """Arbitrary text: a Query whose search runs, or a UsageError; never another exception."""
    _parse_and_search(index, text)


@budget(300)
@given(QUERIES)
def test_grammar_shaped_queries_parse_or_name_the_bad_item(index: SqliteIndex, text: str) -> None:
    """Operators, quotes, tokens and times with any offset or zone: a Query or UsageError."""
    _parse_and_search(index, text)


@budget(200)
@given(TIMES, st.sampled_from(["from", "to"]))
def test_any_time_value_is_a_64_bit_time_or_a_usage_error(
    index: SqliteIndex, time: str, op: str
) -> None:
    """from:/to: with any date, clock and zone: a time SQLite can bind, or a UsageError."""
    _parse_and_search(index, f"{op}:{time}")


# Regressions the properties found (each was an internal error, exit 3, before the fix).


@pytest.mark.parametrize(
    "text",
    [
        "from:0001-01-01",
        "from:0001-01-01T00:00+05:00",
        "from:9999-12-31T23:59-05:00",
        "to:9999-12-31",
    ],
)
def test_times_beyond_64_bit_nanoseconds_are_usage_errors_naming_the_range(
    index: SqliteIndex, text: str
) -> None:
    """A time outside what 64-bit nanoseconds hold (before 1677 or after 2262) is refused
    with a UsageError naming the searchable range, never an internal error."""
    with pytest.raises(UsageError, match="outside the searchable range"):
        parse(text)


@pytest.mark.parametrize(
    "text",
    ["from:2026-01-01T00:00+99:99", "from:2026-01-01T00:00+24:00", "to:2026-01-01T00:00-05:60"],
)
def test_impossible_utc_offsets_are_usage_errors(text: str) -> None:
    """An offset of 24 h or more, or with 60+ minutes, is refused naming the item."""
    with pytest.raises(UsageError, match="offset"):
        parse(text)
