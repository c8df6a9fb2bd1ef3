"""``sessiontape export-test``: the exported demo session is valid Python with role, label and
text locators, reads every masked value from the environment (none is in the file), and -
run by pytest in a subprocess with Debian's Chromium against a fresh demo app - passes."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.demo_app.data import DEMO_SECRETS
from agent.demo_app.threaded import DemoAppThread
from tests.cli.clirun import run_main
from tests.redrive.conftest import Recorded

CHROMIUM = "/usr/lib/chromium/chromium"

# the demo's masked fields, by the variable the exported test reads them from
FILL_ENV = {
    "SESSIONTAPE_FILL_PASSWORD": DEMO_SECRETS["password"],
    "SESSIONTAPE_FILL_ORDER_TICKET_ACCOUNT": DEMO_SECRETS["rest_account"],
    "SESSIONTAPE_FILL_CLIENT_LOOKUP_ACCOUNT": DEMO_SECRETS["account"],
    "SESSIONTAPE_FILL_SSN": DEMO_SECRETS["ssn"],
    "SESSIONTAPE_FILL_NOTES": DEMO_SECRETS["notes"],
    "SESSIONTAPE_FILL_SUPERVISOR_PIN": DEMO_SECRETS["pin"],
}


def _export(rec: Recorded, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code, stdout, err = run_main(capsys, "--home", str(rec.home), "export-test",
                                 rec.session_id, "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert f"wrote {out}" in stdout
    return out.read_text()


@pytest.mark.browser
def test_exported_file_is_python_reading_masked_values_from_the_env(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _export(recorded, tmp_path / "test_flow.py", capsys)
    tree = ast.parse(text)
    assert recorded.session_id in (ast.get_docstring(tree) or "")
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)][-1] == "test_flow"
    assert set(re.findall(r'os\.environ\["(SESSIONTAPE_FILL_\w+)"\]', text)) == set(FILL_ENV)
    # the masked values (the username is typed in clear); a token's random hex may hold a
    # short secret's digits by chance ("tok_bb0273199381675d" and the PIN 7319), so tokens go
    outside = re.sub(r"tok_[0-9a-f]{16}", "tok_", text)
    for secret in FILL_ENV.values():
        assert secret not in outside
    assert 'get_by_role("button", name="Send (REST)", exact=True)' in text
    assert 'get_by_role("textbox", name="Username", exact=True)' in text
    # every request a step caused (by the recording's cause links) is waited for at its step
    caused = {(e.method, e.path) for s in recorded.plan.steps for e in s.expected
              if e.status in ("2xx", "4xx", "5xx")}  # fmt: skip
    assert caused
    for method, path in caused:
        assert f'_response("{method}", "{path}") as r' in text
    assert "expect(page.get_by_text(" in text


@pytest.mark.browser
def test_exported_demo_session_passes_against_the_demo_app(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = tmp_path / "test_flow.py"
    _export(recorded, flow, capsys)
    with DemoAppThread() as app:
        env = {**os.environ, **FILL_ENV, "SESSIONTAPE_BASE_URL": app.url,
               "SESSIONTAPE_CHROMIUM": CHROMIUM}  # fmt: skip
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
             str(tmp_path), str(flow)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        orders = len(app.orders)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
    assert orders >= 2  # the WebSocket and REST orders reached the app
