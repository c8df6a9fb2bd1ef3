"""The generated CLI reference is current and complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import reference


def test_committed_cli_reference_matches_the_commands() -> None:
    """agent/cli/README.md equals what the Typer app generates (regenerate with --write)."""
    assert reference.REFERENCE.read_text(encoding="utf-8") == reference.render()


def test_every_command_has_a_section_and_a_summary_in_the_reference() -> None:
    """Each command path has its own heading and a non-empty one-line summary."""
    text = reference.render()
    for path, cmd in reference.commands():
        assert f"## `sessiontape {path}`" in text
        assert (cmd.help or "").strip(), f"sessiontape {path} has no help text"


def test_check_mode_reports_a_stale_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check exits 1 and names the file when the committed reference differs."""
    stale = tmp_path / "README.md"
    stale.write_text("# CLI reference\n", encoding="utf-8")
    monkeypatch.setattr(reference, "REFERENCE", stale)
    assert reference.main(["--check"]) == 1
    assert str(stale) in capsys.readouterr().err
