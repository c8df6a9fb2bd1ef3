"""The capture package's import layout: the parts never reach back into the engine."""

from __future__ import annotations

import ast
from pathlib import Path

CAPTURE = Path(__file__).resolve().parents[2] / "agent" / "capture"
ENGINE = "agent.capture.engine"
# The modules that assemble an engine; every other part sees only a CaptureContext.
ASSEMBLERS = {"engine.py", "session.py", "run.py"}


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names (``TYPE_CHECKING`` included)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(["agent", "capture"][: 3 - node.level] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def test_no_capture_part_imports_the_engine_except_the_modules_that_assemble_it() -> None:
    """Helpers get a CaptureContext; importing the engine back would hide an import circle."""
    offenders = sorted(
        p.name for p in CAPTURE.glob("*.py") if p.name not in ASSEMBLERS and ENGINE in _imports(p)
    )
    assert offenders == []


def test_the_layout_check_sees_every_form_of_importing_the_engine(tmp_path: Path) -> None:
    """``import``, ``from .. import``, relative and TYPE_CHECKING imports are all caught."""
    forms = [
        "import agent.capture.engine",
        "from agent.capture.engine import CaptureEngine",
        "from agent.capture import engine",
        "from .engine import CaptureEngine",
        "from . import engine",
        "if TYPE_CHECKING:\n    from agent.capture.engine import CaptureEngine",
    ]
    for i, form in enumerate(forms):
        path = tmp_path / f"m{i}.py"
        path.write_text(form + "\n", encoding="utf-8")
        assert ENGINE in _imports(path), form
