"""Benchmarks live in agent/bench only: product code never imports them, and no agent module
reads the test fixtures (an installed wheel has no tests/ directory)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "agent"
ALLOWED = {"agent/cli/bench.py", "agent/cli/bench_live.py", "agent/cli/bench_capture.py"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (p.relative_to(ROOT).as_posix(), ast.parse(p.read_text(encoding="utf-8")))
        for p in sorted(AGENT.rglob("*.py"))
    ]


def _imports_bench(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        if any(n == "agent.bench" or n.startswith("agent.bench.") for n in names):
            return True
    return False


def _reads_test_fixtures(tree: ast.Module) -> bool:
    strings = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    return any("tests/fixtures" in s for s in strings) or {"tests", "fixtures"} <= strings


def test_only_the_bench_cli_and_agent_bench_import_the_benchmarks() -> None:
    """No module outside agent/bench and the bench CLI (agent/cli/bench*.py) imports
    agent.bench."""
    importers = {path for path, tree in _modules() if _imports_bench(tree)}
    assert "agent/cli/bench.py" in importers  # the scan sees a real importer
    offenders = sorted(
        p for p in importers if p not in ALLOWED and not p.startswith("agent/bench/")
    )
    assert not offenders, f"product code imports benchmarks: {offenders}"


def test_no_agent_module_names_the_test_fixtures_path() -> None:
    """No module under agent/ refers to tests/fixtures, as one string or as path parts."""
    offenders = [path for path, tree in _modules() if _reads_test_fixtures(tree)]
    assert not offenders, f"modules that read tests/fixtures: {offenders}"


def test_fixture_scan_catches_a_joined_path() -> None:
    """The check sees ``root / "tests" / "fixtures"`` as well as the joined string."""
    assert _reads_test_fixtures(ast.parse('P = ROOT / "tests" / "fixtures" / "pages"'))
    assert _reads_test_fixtures(ast.parse('P = "tests/fixtures/pages/blotter.html"'))
    assert not _reads_test_fixtures(ast.parse('P = PAGES / "blotter.html"'))


def test_pages_the_benchmarks_serve_ship_in_the_package() -> None:
    """pyproject.toml's package data includes agent/bench/pages."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"bench/pages/*.html"' in pyproject
    assert (AGENT / "bench" / "pages" / "blotter.html").is_file()
