"""The codebase's own size rules: no module over 400 lines, no function over 60 lines, unless
its docstring gives the reason (a line starting ``Long because:``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
REASON = "Long because:"


def _python_files() -> list[Path]:
    return sorted(p for d in ("agent", "tests") for p in (ROOT / d).rglob("*.py"))


def _long_modules() -> list[str]:
    out = []
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        n = text.count("\n")
        if n > MAX_MODULE_LINES and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            out.append(f"{path.relative_to(ROOT)}: {n} lines")
    return out


def _long_functions() -> list[str]:
    out = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            n = (node.end_lineno or node.lineno) - node.lineno + 1
            if n > MAX_FUNCTION_LINES and REASON not in (ast.get_docstring(node) or ""):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
    return out


def test_no_module_over_400_lines_without_a_stated_reason() -> None:
    """A module past 400 lines is split by noun, or says why it is not."""
    assert _long_modules() == []


def test_no_function_over_60_lines_without_a_stated_reason() -> None:
    """A function past 60 lines is split, or its docstring says why it is not."""
    assert _long_functions() == []


if __name__ == "__main__":  # `python tests/test_codebase.py` lists what breaks the rules
    print("\n".join(_long_modules() + _long_functions()) or "ok")
