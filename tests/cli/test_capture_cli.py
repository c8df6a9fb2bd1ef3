"""`sessiontape record URL` at the edges: bad URLs and schemes are refused before a browser
starts; an unreachable URL is a sealed, verifying session and exit 1; a read-only home is one
line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.journal.store import list_sessions
from tests.cli.clirun import run


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://[::1", "not a valid URL: 'http://[::1' (Invalid IPv6 URL)"),
        ("http://", "not a valid URL: 'http://' (no host)"),
        (
            "file:///etc/passwd",
            "URL scheme 'file' is not recordable: 'file:///etc/passwd' "
            "(capture.allowed_schemes: http, https)",
        ),
        ("javascript:alert(1)", "URL scheme 'javascript' is not recordable"),
    ],
)
def test_bad_url_or_scheme_is_refused_before_launching(
    tmp_path: Path, url: str, message: str
) -> None:
    home = tmp_path / "h"
    r = run("record", url, "--headless", "--duration", "1", home=home)
    assert r.code == 2
    assert r.err.startswith("sessiontape: error: ") and message in r.err
    assert r.err.count("\n") == 1
    assert not (home / "journals").exists() and not (home / "assets").exists()


def test_allowed_schemes_comes_from_the_config(tmp_path: Path) -> None:
    """The refusal names the configured list; a scheme not in it is refused even if http."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[capture]\nallowed_schemes = ["https"]\n')
    r = run("--config", str(cfg), "record", "http://127.0.0.1:9/", home=tmp_path / "h")
    assert r.code == 2
    assert "URL scheme 'http' is not recordable" in r.err
    assert "(capture.allowed_schemes: https)" in r.err


@pytest.mark.browser
def test_unreachable_url_exits_1_with_a_sealed_verifying_session(tmp_path: Path) -> None:
    home = tmp_path / "h"
    url = "http://127.0.0.1:1/"
    r = run("record", url, "--headless", "--duration", "2", "--json", home=home)
    assert r.code == 1, r.err
    (s,) = list_sessions(home)
    assert r.err.strip() == (
        f"sessiontape: error: nothing was loaded from {url}: net::ERR_UNSAFE_PORT "
        f"(session {s.session_id} is sealed and verifies)"
    )
    summary = json.loads(r.out[r.out.index("{") :])
    assert summary["verified"] is True
    assert summary["kinds"]["page.load_failed"] == 1
    assert "page.crash" not in summary["kinds"] and "capture.gap" not in summary["kinds"]
    assert s.closed
    v = run("verify", s.session_id, home=home)
    assert v.code == 0, v.err


@pytest.fixture
def read_only_home(tmp_path: Path) -> Iterator[Path]:
    """A real read-only filesystem (root ignores chmod, so a read-only tmpfs mount)."""
    d = tmp_path / "ro"
    d.mkdir()
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,mode=700", "tmpfs", str(d)], capture_output=True
    )
    if p.returncode != 0:
        if os.geteuid() != 0:
            d.chmod(0o500)
            yield d
            d.chmod(0o700)
            return
        pytest.skip(f"cannot mount a read-only tmpfs here: {p.stderr.decode().strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=True)


def test_record_into_a_read_only_home_is_one_line_exit_2(read_only_home: Path) -> None:
    r = run("record", "http://127.0.0.1:9/", "--headless", home=read_only_home)
    assert r.code == 2
    assert r.err.startswith(f"sessiontape: error: {read_only_home}: the state directory is not ")
    assert "writable" in r.err and r.err.count("\n") == 1


def test_home_naming_a_file_is_one_line_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    r = run("sessions", env={"SESSIONTAPE_HOME": str(f)})
    assert r.code == 2
    assert r.err == (
        f"sessiontape: error: {f}: the state directory (--home or SESSIONTAPE_HOME) "
        "is not a directory\n"
    )


def test_config_naming_a_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    for r in (
        run("--config", str(tmp_path), "sessions", home=tmp_path / "h"),
        run("sessions", home=tmp_path / "h", env={"SESSIONTAPE_CONFIG": str(tmp_path)}),
    ):
        assert r.code == 2
        assert r.err == f"sessiontape: error: {tmp_path}: config file is a directory, not a file\n"


def test_keys_init_in_a_read_only_home_is_one_line_exit_2(read_only_home: Path) -> None:
    """A filesystem refusal outside the error tree is still one line naming the path, exit 2."""
    r = run("keys", "init", home=read_only_home)
    assert r.code == 2
    assert r.err == f"sessiontape: error: {read_only_home / 'keys'}: Read-only file system\n"


def test_the_stop_hint_offers_closing_the_browser_only_when_it_is_visible() -> None:
    """A headless browser has no window to close: the hint does not mention one."""
    from agent.cli.capture import stop_hint

    assert stop_hint(True, None) == "press Ctrl-C"
    assert stop_hint(True, 2) == "press Ctrl-C or wait 2 s"
    assert stop_hint(False, None) == "close the browser or press Ctrl-C"
    assert stop_hint(False, 600) == "close the browser, press Ctrl-C or wait 600 s"
