"""Layering rules between stages, checked on the import statements of every module.

Each rule says which modules may not import which: add a :class:`Rule` to ``RULES`` to pin a
new one. Imports are read with :mod:`ast`, so imports inside functions count too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("capture", "mask", "journal", "seal", "ship", "index", "replay")


@dataclass(frozen=True)
class Rule:
    """Modules under ``packages`` never import ``forbidden`` (or anything below it)."""

    packages: tuple[str, ...]
    forbidden: str
    why: str

    def __str__(self) -> str:
        return f"{', '.join(self.packages)} -/-> {self.forbidden}"


RULES = [
    Rule(
        ("agent.seal",), "agent.journal", "the journal writes sealed segments; seal never needs it"
    ),
    Rule(("agent.mask",), "agent.journal", "stages meet at Protocols wired by agent.pipeline"),
    Rule(
        tuple(f"agent.{stage}" for stage in STAGES),
        "agent.pipeline",
        "agent.pipeline assembles the stages; a stage that imports it creates a cycle",
    ),
    Rule(
        ("agent.capture", "agent.demo_app", "agent.pipeline"),
        "playwright",
        "the recorded browser accepts no client but the agent's CDP pipe: production capture "
        "and the demo drive it with agent.capture.driver, never through Playwright",
    ),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from agent import journal`` imports agent.journal.
            out.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
            out.append((node.lineno, base))
    return out


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(rule: Rule) -> list[str]:
    """Every import in the rule's packages that reaches its forbidden module."""
    found: dict[str, str] = {}  # "path:line" -> the shortest forbidden name imported there
    for path in sorted((ROOT / "agent").rglob("*.py")):
        module = _module_name(path)
        if not any(_within(module, p) for p in rule.packages):
            continue
        for line, name in _imports(path, module):
            where = f"{path.relative_to(ROOT)}:{line}"
            if _within(name, rule.forbidden) and len(name) < len(found.get(where, name + ".")):
                found[where] = name
    return [f"{where} imports {name}" for where, name in sorted(found.items())]


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_stage_never_imports_what_its_layer_forbids(rule: Rule) -> None:
    """No module of the rule's packages imports the forbidden module (the rule says why)."""
    assert violations(rule) == [], rule.why


def test_the_import_scanner_sees_absolute_relative_and_nested_imports(tmp_path: Path) -> None:
    """The scanner finds ``import x``, ``from x import y``, relative and in-function imports."""
    path = ROOT / "agent" / "seal" / "verify.py"
    names = {name for _, name in _imports(path, "agent.seal.verify")}
    assert "agent.seal.verify_checks" in names
    src = tmp_path / "mod.py"
    src.write_text("def f():\n    from ..journal import reader\n    import agent.pipeline\n")
    found = {name for _, name in _imports(src, "agent.seal.mod")}
    assert {"agent.journal", "agent.journal.reader", "agent.pipeline"} <= found
