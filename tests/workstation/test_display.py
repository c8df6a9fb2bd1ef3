"""No usable display: ``agent`` and ``record`` refuse a visible browser with one line and exit
2 (never a silent headless browser); a display that answers is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.workstation.display import display_problem
from tests.cli.clirun import run
from tests.workstation.desktop import free_display, xvfb


@pytest.mark.parametrize("command", [["agent"], ["record", "http://127.0.0.1:9/"]])
def test_without_display_agent_and_record_exit_2_naming_the_missing_display(
    tmp_path: Path, command: list[str]
) -> None:
    """Neither DISPLAY nor WAYLAND_DISPLAY: exit 2, one line, nothing recorded."""
    r = run(*command, home=tmp_path / "h", env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert r.code == 2
    name = command[0]
    assert r.err.strip() == (
        f"sessiontape: error: sessiontape {name} shows the browser on the desktop, but no "
        "display: neither DISPLAY nor WAYLAND_DISPLAY is set (run it in the user's desktop "
        "session, or pass --headless)"
    )
    assert not (tmp_path / "h" / "journals").exists()


def test_a_display_nobody_answers_on_is_refused_naming_its_socket(tmp_path: Path) -> None:
    """DISPLAY set to a display number with no X server: exit 2 naming the socket."""
    n = free_display()
    r = run("agent", home=tmp_path / "h", env={"DISPLAY": f":{n}"})
    assert r.code == 2
    assert f"no X server answers on DISPLAY=:{n} (/tmp/.X11-unix/X{n})" in r.err
    assert "Traceback" not in r.err


def test_a_running_x_server_is_a_usable_display() -> None:
    """Xvfb answering on its socket (with or without a screen number): no problem."""
    with xvfb() as name:
        assert display_problem({"DISPLAY": name}) is None
        assert display_problem({"DISPLAY": name + ".0"}) is None
    assert display_problem({"DISPLAY": "nonsense"}) == "DISPLAY='nonsense' is not an X display name"
