"""Docs are tests: every CLI command, config section and event kind is in README.md,
and every command's --help ends with an example."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.main import _register_all, app
from agent.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


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


def test_every_cli_command_is_documented_in_the_readme() -> None:
    """`sessiontape <command>` appears in README.md for every command and sub-command."""
    missing = [p for p, _ in _commands() if f"sessiontape {p}" not in README]
    assert not missing, f"undocumented commands: {missing}"


def test_every_command_help_ends_with_an_example() -> None:
    """Each command's help text carries an `Example:` line."""
    missing = [p for p, c in _commands() if "Example:" not in (getattr(c, "help", "") or "")]
    assert not missing, f"commands without an example: {missing}"


def test_every_event_kind_is_documented_in_the_readme() -> None:
    """The kind registry and the README's kind table agree."""
    missing = [k for k in KINDS if f"`{k}`" not in README]
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
