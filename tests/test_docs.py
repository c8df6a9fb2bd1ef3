"""Docs are tests: every CLI command is in the generated reference and has an example, every
event kind is in the journal's README, every config section is named in the front door."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.main import _register_all, app
from agent.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CLI_REFERENCE = (ROOT / "agent" / "cli" / "README.md").read_text()
JOURNAL_README = (ROOT / "agent" / "journal" / "README.md").read_text()


def _commands() -> list[tuple[str, object]]:
    _register_all()
    root = typer.main.get_command(app)
    out: list[tuple[str, object]] = []

    def walk(cmd: object, path: str) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            if path and getattr(cmd, "invoke_without_command", False):
                out.append((path, cmd))
            for name, sub in subs.items():
                walk(sub, f"{path} {name}".strip())
        else:
            out.append((path, cmd))

    walk(root, "")
    return out


def test_every_cli_command_is_documented_in_the_cli_reference() -> None:
    """`sessiontape <command>` has a section in agent/cli/README.md for every command."""
    missing = [p for p, _ in _commands() if f"## `sessiontape {p}`" not in CLI_REFERENCE]
    assert not missing, f"undocumented commands: {missing}"


def test_every_command_help_ends_with_an_example() -> None:
    """Each command's help text carries an `Example:` line."""
    missing = [p for p, c in _commands() if "Example:" not in (getattr(c, "help", "") or "")]
    assert not missing, f"commands without an example: {missing}"


def test_every_event_kind_is_documented_in_the_journal_readme() -> None:
    """The kind registry and the kind table in agent/journal/README.md agree."""
    missing = [k for k in KINDS if f"`{k}`" not in JOURNAL_README]
    assert not missing, f"kinds missing from README: {missing}"


def test_every_config_section_is_documented_in_the_readme() -> None:
    """Each config section has its heading in the README's configuration part."""
    from agent.config import load_config

    for sec in load_config(env={}).as_dict():
        assert f"[{sec}]" in README, sec


def test_readme_states_the_two_commands() -> None:
    """The two set-up-and-run commands are in the README, and .ci/run runs the test one."""
    assert "make demo" in README and "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_relative_link_in_the_docs_points_at_a_file() -> None:
    """Links between README.md and the per-stage READMEs resolve (anchors are not checked)."""
    import re

    docs = [ROOT / "README.md", *ROOT.glob("agent/**/*.md"), ROOT / "recorder_js" / "README.md"]
    broken = []
    for doc in docs:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if "://" not in target and not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_the_front_door_links_every_stage_readme() -> None:
    """README.md points at each stage's README, where the depth lives."""
    for stage in ("capture", "mask", "journal", "seal", "ship", "index", "replay", "bench"):
        assert f"agent/{stage}/README.md" in README, stage


def test_readme_figures_table_is_generated_from_figures_json() -> None:
    """The figures block in README.md is exactly what agent/bench/figures.json renders."""
    import json

    from agent.bench import figures

    data = json.loads(figures.FIGURES.read_text(encoding="utf-8"))
    assert figures.splice(README, figures.render(data)) == README
