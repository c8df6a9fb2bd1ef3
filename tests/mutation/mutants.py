"""Mutants of a Python module: each one small change to its syntax tree.

Operators, each applied at one place at a time:

- ``compare``: a comparison operator flipped (``==``/``!=``, ``<``/``>=``, ``>``/``<=``,
  ``is``/``is not``, ``in``/``not in``); a chained comparison gives one mutant per operator.
- ``negate``: an ``if``, ``while`` or conditional-expression test negated (``not`` added, or
  a leading ``not`` removed).
- ``return``: ``return True`` and ``return False`` swapped.
- ``boolop``: ``and`` and ``or`` swapped.
- ``const``: an integer constant used in a comparison, an index or slice, or ``+``/``-``
  arithmetic increased by one.

A mutant is found by its position in :func:`ast.walk` order, so applying it re-parses the
original source and edits the node at the same position; the mutated module is written back
with :func:`ast.unparse` (same behaviour, different layout).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

COMPARE_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}

Edit = Callable[[ast.AST], ast.AST]
"""Changes a node (of a fresh parse) in place; returns the expression to show as "after"."""


@dataclass(frozen=True)
class Mutant:
    """One change to one module: where it is, what it does, and how to apply it."""

    path: str
    """The module, relative to the repository root."""
    line: int
    func: str
    """The enclosing function's qualified name (``<module>`` at top level)."""
    kind: str
    before: str
    after: str
    node: int
    """Position of the changed node in :func:`ast.walk` order."""
    variant: int
    """Which of the node's mutations (e.g. which operator of a chained comparison)."""
    key: str = ""
    """A name that survives edits elsewhere in the file (no line number in it):
    ``path::function: before -> after``, with `` #n`` for the n-th same change in a function."""

    @property
    def where(self) -> str:
        """``path:line``."""
        return f"{self.path}:{self.line}"


def _flip_compare(i: int) -> Edit:
    def edit(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.Compare)
        node.ops[i] = COMPARE_FLIP[type(node.ops[i])]()
        return node

    return edit


def _negate_test(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.If | ast.While | ast.IfExp)
    t = node.test
    if isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not):
        node.test = t.operand
    else:
        node.test = ast.UnaryOp(op=ast.Not(), operand=t)
    return node.test


def _flip_bool_return(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
    node.value.value = not node.value.value
    return node


def _swap_boolop(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.BoolOp)
    node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    return node


def _bump_int(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.Constant) and isinstance(node.value, int)
    node.value = node.value + 1
    return node


def _flippable(test: ast.expr) -> bool:
    """A single comparison, whose flipped operator already negates it."""
    return (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in COMPARE_FLIP
    )


def _is_int(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def _int_in_arithmetic(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """An int constant (or its negation) directly in a comparison, index, slice or +/-."""
    if not _is_int(node):
        return False
    up = parents.get(node)
    if isinstance(up, ast.UnaryOp) and isinstance(up.op, ast.USub):
        up = parents.get(up)
    if isinstance(up, ast.BinOp):
        return isinstance(up.op, ast.Add | ast.Sub)
    return isinstance(up, ast.Compare | ast.Slice | ast.Subscript)


def edits(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> list[tuple[str, ast.AST, Edit]]:
    """The mutations of one node: (kind, expression shown as "before", edit)."""
    out: list[tuple[str, ast.AST, Edit]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_FLIP:
                out.append(("compare", node, _flip_compare(i)))
    elif isinstance(node, ast.If | ast.While | ast.IfExp) and not _flippable(node.test):
        out.append(("negate", node.test, _negate_test))
    elif (
        isinstance(node, ast.Return)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, bool)
    ):
        out.append(("return", node, _flip_bool_return))
    elif isinstance(node, ast.BoolOp):
        out.append(("boolop", node, _swap_boolop))
    elif _int_in_arithmetic(node, parents):
        shown = parents[node]
        while not isinstance(shown, ast.BinOp | ast.Compare | ast.Subscript):
            shown = parents[shown]
        out.append(("const", shown, _bump_int))
    return out


def _scopes(tree: ast.Module) -> dict[ast.AST, str]:
    """Each node's enclosing function or class, as a dotted name."""
    scope: dict[ast.AST, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = name
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = child.name if name == "<module>" else f"{name}.{child.name}"
            scope[child] = inner
            visit(child, inner)

    visit(tree, "<module>")
    return scope


def _parents(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    return {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def generate(root: Path, rel: str) -> list[Mutant]:
    """Every mutant of the module ``root / rel``, in source order."""
    src = (root / rel).read_text(encoding="utf-8")
    tree = ast.parse(src)
    parents, scopes = _parents(tree), _scopes(tree)
    position = {id(node): i for i, node in enumerate(ast.walk(tree))}
    found: list[Mutant] = []
    for n, node in enumerate(ast.walk(tree)):
        for variant, (kind, shown, _edit) in enumerate(edits(node, parents)):
            after_node = _edited(src, n, variant, position[id(shown)])
            found.append(
                Mutant(
                    path=rel,
                    line=getattr(shown, "lineno", 0),
                    func=scopes.get(node, "<module>"),
                    kind=kind,
                    before=_one_line(ast.get_source_segment(src, shown) or ast.unparse(shown)),
                    after=_one_line(ast.unparse(after_node)),
                    node=n,
                    variant=variant,
                )
            )
    found.sort(key=lambda m: (m.line, m.node, m.variant))
    return _named(found)


def _named(found: list[Mutant]) -> list[Mutant]:
    seen: dict[str, int] = {}
    out = []
    for m in found:
        key = f"{m.path}::{m.func}: {m.before} -> {m.after}"
        seen[key] = seen.get(key, 0) + 1
        out.append(replace(m, key=key if seen[key] == 1 else f"{key} #{seen[key]}"))
    return out


def _edited(src: str, n: int, variant: int, shown: int) -> ast.AST:
    """The expression a mutation produces, for display: the node at position ``shown`` after
    the edit (an edit keeps every node's position; a negated test takes the test's place)."""
    tree = ast.parse(src)
    node = _nth(tree, n)
    _, _, edit = edits(node, _parents(tree))[variant]
    edit(node)
    return _nth(tree, shown)


def _nth(tree: ast.Module, n: int) -> ast.AST:
    for i, node in enumerate(ast.walk(tree)):
        if i == n:
            return node
    raise IndexError(f"node {n} not in the tree")


def apply(root: Path, mutant: Mutant) -> str:
    """The source of ``mutant``'s module with the mutation applied."""
    src = (root / mutant.path).read_text(encoding="utf-8")
    tree = ast.parse(src)
    parents = _parents(tree)
    node = _nth(tree, mutant.node)
    _, _, edit = edits(node, parents)[mutant.variant]
    edit(node)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def iter_all(root: Path, files: list[str]) -> Iterator[Mutant]:
    """The mutants of every file, file by file."""
    for rel in files:
        yield from generate(root, rel)
