"""``sessiontape redrive`` refuses bad input with one line and exit 2, before any browser
starts: an unknown session, a fill file that is not a flat table, a malformed --map."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.clirun import run_main
from tests.redrive.conftest import Recorded


def test_unknown_session_and_bad_fill_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    code, out, err = run_main(capsys, "--home", str(home), "redrive", "nope",
                              "--base-url", "http://127.0.0.1:9")  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith("sessiontape: error: ") and "nope" in err and err.count("\n") == 1
    fill = tmp_path / "qa.toml"
    fill.write_text("[table]\nx = 1\n")
    code, _out, err = run_main(capsys, "--home", str(home), "redrive", "nope",
                               "--base-url", "http://127.0.0.1:9", "--fill", str(fill))  # fmt: skip
    assert code == 2 and "flat table" in err and err.count("\n") == 1


@pytest.mark.browser
def test_malformed_map_exits_2(recorded: Recorded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "--home", str(recorded.home), "redrive",
                              recorded.session_id, "--base-url", "http://127.0.0.1:9",
                              "--map", "http://a.test")  # fmt: skip
    assert code == 2 and out == ""
    assert err == "sessiontape: error: --map 'http://a.test': expected ORIGIN=URL\n"
