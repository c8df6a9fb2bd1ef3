"""A small parser of the Prometheus text exposition format (0.0.4), strict on the grammar:
every line is a ``# HELP``, a ``# TYPE`` or a sample; every sample's metric has a TYPE line
before it; names and label sets are well-formed; values are floats."""

from __future__ import annotations

import re

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(
    rf"^(?P<name>{_NAME})(?:\{{(?P<labels>{_LABEL}(?:,{_LABEL})*)?\}})? "
    r"(?P<value>[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$"
)
_HELP = re.compile(rf"^# HELP (?P<name>{_NAME}) .+$")
_TYPE = re.compile(rf"^# TYPE (?P<name>{_NAME}) (counter|gauge|histogram|summary|untyped)$")
_ONE_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """``{(name, ((label, value), ...)): value}``; AssertionError naming a bad line."""
    assert text.endswith("\n"), "exposition must end with a newline"
    typed: set[str] = set()
    helped: set[str] = set()
    out: Samples = {}
    for line in text.splitlines():
        if m := _HELP.match(line):
            helped.add(m["name"])
        elif m := _TYPE.match(line):
            assert m["name"] not in typed, f"second TYPE for {m['name']}"
            typed.add(m["name"])
        else:
            m = _SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            assert m["name"] in typed, f"sample before its TYPE: {line!r}"
            labels = tuple(sorted(_ONE_LABEL.findall(m["labels"] or "")))
            key = (m["name"], labels)
            assert key not in out, f"duplicate sample {key}"
            out[key] = float(m["value"])
    assert typed == helped, f"TYPE without HELP or HELP without TYPE: {typed ^ helped}"
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample ``name{labels}``, or None when absent."""
    return samples.get((name, tuple(sorted(labels.items()))))
