"""The mutant generator: which changes it makes, how it names them, and that applying one
changes exactly that place."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.mutation.equivalent import EQUIVALENT
from tests.mutation.mutants import apply, generate, iter_all
from tests.mutation.mutate import ROOT, TARGETS

SAMPLE = """\
def f(a, b, xs):
    if a == b and b in xs:
        return True
    while not xs:
        xs = xs[1:]
    return a if a is None else b + 1


def g(x):
    return False
"""


def _sample(tmp_path: Path) -> Path:
    (tmp_path / "m.py").write_text(SAMPLE, encoding="utf-8")
    return tmp_path


def test_each_operator_gives_one_mutant_per_place(tmp_path: Path) -> None:
    found = [(m.line, m.kind, m.before, m.after) for m in generate(_sample(tmp_path), "m.py")]
    assert found == [
        (2, "negate", "a == b and b in xs", "not (a == b and b in xs)"),
        (2, "boolop", "a == b and b in xs", "a == b or b in xs"),
        (2, "compare", "a == b", "a != b"),
        (2, "compare", "b in xs", "b not in xs"),
        (3, "return", "return True", "return False"),
        (4, "negate", "not xs", "xs"),
        (5, "const", "xs[1:]", "xs[2:]"),
        (6, "compare", "a is None", "a is not None"),
        (6, "const", "b + 1", "b + 2"),
        (10, "return", "return False", "return True"),
    ]


def test_applying_a_mutant_changes_only_that_place(tmp_path: Path) -> None:
    root = _sample(tmp_path)
    original = ast.dump(ast.parse(SAMPLE))
    for m in generate(root, "m.py"):
        mutated = apply(root, m)
        assert ast.dump(ast.parse(mutated)) != original
        assert m.after in mutated or m.kind == "negate"


def test_keys_are_unique_and_name_the_function(tmp_path: Path) -> None:
    mutants = generate(_sample(tmp_path), "m.py")
    assert len({m.key for m in mutants}) == len(mutants)
    assert mutants[0].key == "m.py::f: a == b and b in xs -> not (a == b and b in xs)"
    assert mutants[-1].key == "m.py::g: return False -> return True"


def test_every_equivalence_entry_names_a_mutant_of_the_verifier() -> None:
    keys = {m.key for m in iter_all(ROOT, TARGETS)}
    assert set(EQUIVALENT) <= keys
    assert all(reason.strip() for reason in EQUIVALENT.values())
