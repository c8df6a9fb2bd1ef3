"""Generated TOML documents: values of every TOML type, tables, arrays of tables, and text.

The standard library reads TOML but does not write it, so :func:`dumps` writes the small
subset the strategies produce (every key quoted, values inline).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from hypothesis import strategies as st

SCALARS = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**64), 2**64),
    st.sampled_from([0, 1, -1, 2**63 - 1, 10**30]),
    st.floats(),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _key(k: str) -> str:
    return json.dumps(k, ensure_ascii=False)


def dumps(doc: dict[str, Any]) -> str:
    """TOML text for ``doc``: top-level values, then ``[table]`` and ``[[array]]`` sections."""
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for k, v in doc.items():
        if isinstance(v, dict) or (
            isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
        ):
            tables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables:
        for body in [v] if isinstance(v, dict) else v:
            lines.append(f"[{_key(k)}]" if isinstance(v, dict) else f"[[{_key(k)}]]")
            lines.extend(f"{_key(kk)} = {_value(vv)}" for kk, vv in body.items())
    return "\n".join(lines) + "\n"


def tables(
    names: list[str], keys: list[str], values: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Documents of ``[name]`` tables whose keys are mostly from ``keys``."""
    key = st.sampled_from(keys) | st.text(max_size=8)
    body = st.dictionaries(key, values, max_size=4)
    return st.dictionaries(st.sampled_from(names) | st.text(max_size=6), body | VALUES, max_size=4)
