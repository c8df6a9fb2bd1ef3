"""The README's figures table, generated from ``figures.json`` (the one place figures live).

    python -m agent.bench.figures --write    # after re-running a benchmark and editing the JSON
    python -m agent.bench.figures --check    # exit 1 when README.md's table is stale

Each row names the command that measures it; ``figures.json`` says on which machine and when.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FIGURES = Path(__file__).with_name("figures.json")
README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def render(data: dict[str, Any]) -> str:
    """The Markdown block that stands between the markers in README.md."""
    lines = [
        f"Measured on {data['machine']}, on the date in each row. Machines here are shared "
        "and noisy: compare the ratios, each taken against the named peer in the same run. "
        "The method is in [agent/bench/README.md](agent/bench/README.md).",
        "",
        "| figure | target | measured | peer, same run | command | measured on |",
        "|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        cells = [row["figure"], row["target"], row["measured"], row.get("peer", "—")]
        cells += [f"`{row['command']}`", row["date"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def splice(readme: str, block: str) -> str:
    """``readme`` with the text between the markers replaced by ``block``."""
    head, sep, rest = readme.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"{README}: the figures markers are missing")
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str]) -> int:
    """``--write`` updates README.md; ``--check`` exits 1 when it is stale."""
    data = json.loads(FIGURES.read_text(encoding="utf-8"))
    current = README.read_text(encoding="utf-8")
    wanted = splice(current, render(data))
    if argv == ["--write"]:
        README.write_text(wanted, encoding="utf-8")
        return 0
    if current != wanted:
        print(f"{README}: figures table is stale: run python -m agent.bench.figures --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
