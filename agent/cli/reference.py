"""The CLI reference (``agent/cli/README.md``), generated from the Typer app itself.

    python -m agent.cli.reference --write     # regenerate after changing a command
    python -m agent.cli.reference --check     # exit 1 when the committed file is stale

A test runs the check, so a command, option or help text cannot change without its reference.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

REFERENCE = Path(__file__).with_name("README.md")

_HEADER = """\
# CLI reference

Generated from the command definitions by `python -m agent.cli.reference --write`; a test fails
when it is stale. Global options come before the command: `sessiontape [--home DIR] [--config
FILE] COMMAND ...`. Exit codes: 0 ok, 1 verification failed, 2 usage or input error; 130 when
interrupted. Every error is one line on stderr starting `sessiontape: error:`.
"""


# Typer vendors its own click, so commands and parameters are read by duck typing.
Command = Any


def _walk(cmd: Command, path: str) -> list[tuple[str, Command]]:
    """Every runnable command under ``cmd`` as ``(path, command)``, sorted by path."""
    out: list[tuple[str, Command]] = []
    subs = getattr(cmd, "commands", None)
    if subs:
        if path and getattr(cmd, "invoke_without_command", False):
            out.append((path, cmd))
        for name in sorted(subs):
            out.extend(_walk(subs[name], f"{path} {name}".strip()))
    else:
        out.append((path, cmd))
    return out


def commands() -> list[tuple[str, Command]]:
    """All commands of the ``sessiontape`` app, including every stage's sub-commands."""
    from agent.cli.main import _register_all, app

    _register_all()
    return _walk(typer.main.get_command(app), "")


def _default(param: Any) -> str:
    value: Any = param.default
    if callable(value) or value is None or value == () or param.required:
        return ""
    if getattr(param, "is_flag", False):
        return "on" if value else ""
    return f"`{value}`"


def _param_row(param: Any) -> str:
    if param.param_type_name == "argument":
        name = f"`{(param.metavar or param.name or '').upper()}`"
        help_text = ""
    else:
        name = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        help_text = (getattr(param, "help", None) or "").replace("\n", " ").replace("|", "\\|")
    required = "yes" if param.required else ""
    return f"| {name} | {help_text} | {_default(param)} | {required} |"


def _section(path: str, cmd: Command) -> str:
    help_text = (cmd.help or "").strip()
    params = [p for p in cmd.params if p.name != "help"]
    lines = [f"## `sessiontape {path}`", "", help_text, ""]
    if params:
        lines += ["| parameter | meaning | default | required |", "|---|---|---|---|"]
        lines += [_param_row(p) for p in params]
        lines.append("")
    return "\n".join(lines)


def render() -> str:
    """The whole reference as Markdown."""
    parts = [_HEADER, "| command | summary |", "|---|---|"]
    cmds = commands()
    for path, cmd in cmds:
        first = (cmd.help or "").strip().split("\n\n")[0]
        summary = " ".join(first.split()).replace("|", "\\|")
        parts.append(f"| [`sessiontape {path}`](#{_anchor(path)}) | {summary} |")
    parts.append("")
    parts += [_section(path, cmd) for path, cmd in cmds]
    return "\n".join(parts).rstrip("\n") + "\n"


def _anchor(path: str) -> str:
    return "sessiontape-" + path.replace(" ", "-")


def main(argv: list[str]) -> int:
    """``--write`` regenerates the file, ``--check`` compares it."""
    text = render()
    if argv == ["--write"]:
        REFERENCE.write_text(text, encoding="utf-8")
        return 0
    if argv == ["--check"]:
        if REFERENCE.is_file() and REFERENCE.read_text(encoding="utf-8") == text:
            return 0
        print(f"{REFERENCE} is stale: run python -m agent.cli.reference --write", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
