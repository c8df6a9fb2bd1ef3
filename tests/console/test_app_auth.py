"""Sign-in, sessions, roles and forgery defences of the console, over real HTTP to a real
uvicorn: each refusal is a clear message and an audit record naming who (or ``anonymous``),
and nothing is done."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.clock import SystemClock
from agent.config import Config, load_config
from agent.console.accounts import open_store
from agent.console.identity import EXAMINER
from agent.console.shipping import ship_pass
from agent.ship.runtime import build_shipper
from agent.testing import FakeClock
from tests.cli.clirun import ROOT, run
from tests.console.app_firm import (
    DAY_NS,
    PASSWORD,
    Firm,
    Served,
    TickingClock,
    audit_of,
    build_firm,
    client,
    form_token,
    serve,
    sign_in,
)

MIN_NS = 60 * 1_000_000_000


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory) -> Firm:
    return build_firm(tmp_path_factory.mktemp("console-auth"))


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    """The console's clock, starting at the real time (accounts expire against it)."""
    return TickingClock(utc_ns=SystemClock().utc_ns())


@pytest.fixture(scope="module")
def console(firm: Firm, clock: FakeClock) -> Iterator[Served]:
    with serve(firm.home, clock=clock) as s:
        yield s


def _outcomes(firm: Firm, account: str) -> list[object]:
    recs = audit_of(firm.home, "audit.signin")
    return [r["outcome"] for r in recs if r.get("account") == account]


def test_wrong_password_says_so_and_is_audited(firm: Firm, console: Served) -> None:
    """A wrong password: 401, one line that does not tell which part was wrong, a record."""
    _, r = sign_in(console.url, "rita", "not the password")
    assert r.status_code == 401
    assert "Wrong account name or password." in r.text
    assert _outcomes(firm, "rita") == ["wrong_password"]


def test_lockout_after_n_failures_refuses_even_the_right_password_until_unlocked(
    firm: Firm, console: Served
) -> None:
    """lockout_attempts = 3: the third failure locks; the right password is then refused;
    an admin unlocks (audited) and the sign-in works again."""
    for _ in range(2):
        assert sign_in(console.url, "bob", "wrong password!")[1].status_code == 401
    _, r = sign_in(console.url, "bob", "wrong password!")
    assert r.status_code == 423 and "locked after too many failed sign-ins" in r.text
    _, r = sign_in(console.url, "bob")
    assert r.status_code == 423
    assert _outcomes(firm, "bob")[-2:] == ["locked", "locked"]
    admin, r = sign_in(console.url, "root")
    assert r.status_code == 303
    page = admin.get("/users")
    r = admin.post("/users/bob/unlock", data={"csrf": form_token(page.text)})
    assert r.status_code == 200 and "Account bob: unlocked." in r.text
    unlock = [x for x in audit_of(firm.home, "audit.user") if x["account"] == "bob"]
    assert unlock[-1]["action"] == "unlock" and unlock[-1]["actor"] == "local:root"
    assert sign_in(console.url, "bob")[1].status_code == 303


def test_expired_examiner_cannot_sign_in(firm: Firm, console: Served) -> None:
    _, r = sign_in(console.url, "old")
    assert r.status_code == 401 and "This account has expired." in r.text
    assert _outcomes(firm, "old") == ["expired"]


def test_examiner_session_ends_when_the_account_expires(
    firm: Firm, console: Served, clock: FakeClock
) -> None:
    """A signed-in examiner whose account expires mid-session is signed out at the next
    request, with a record of it."""
    store = open_store(firm.home)
    store.add_user("exam2", PASSWORD, (EXAMINER,), clock.utc_ns() + DAY_NS, clock.utc_ns())
    store.close()
    c, r = sign_in(console.url, "exam2")
    assert r.status_code == 303
    assert c.get("/search").status_code == 200
    clock.advance(DAY_NS + MIN_NS)
    r = c.get("/search")
    assert r.status_code == 401 and "your account has expired" in r.text
    rec = audit_of(firm.home, "audit.signin")[-1]
    assert rec["actor"] == "local:exam2" and rec["outcome"] == "expired"


def test_idle_session_expires(console: Served, clock: FakeClock) -> None:
    c, _ = sign_in(console.url, "rita")
    assert c.get("/search").status_code == 200
    clock.advance(31 * MIN_NS)  # console.idle_minutes = 30
    r = c.get("/search")
    assert r.status_code == 401 and "expired after being idle" in r.text


def test_examiner_cannot_place_a_hold(firm: Firm, console: Served) -> None:
    """Read-only: the hold form is refused with 403, audited with the examiner's subject,
    and no hold exists."""
    c, _ = sign_in(console.url, "exam")
    token = form_token(c.get("/search").text)  # the sign-out form carries the token
    sid = firm.sessions["trader1"]
    r = c.post("/holds/add", data={"csrf": token, "session": sid, "matter": "M", "reason": "x"})
    assert r.status_code == 403 and "do not allow this (hold)" in r.text
    rec = audit_of(firm.home, "audit.refused")[-1]
    assert rec["actor"] == "local:exam" and str(rec["reason"]).startswith("role: hold")
    assert rec["actor_roles"] == ["examiner"]
    assert build_shipper(firm.home, _cfg(firm).ship, config=_cfg(firm)).state.active_holds() == []


def _cfg(firm: Firm) -> Config:
    return load_config(env={}, home=firm.home)


@pytest.mark.parametrize("how", ["forged", "tampered"])
def test_forged_or_tampered_session_cookie_is_refused(
    firm: Firm, console: Served, how: str
) -> None:
    good, _ = sign_in(console.url, "alice")
    value = good.cookies["st_console"]
    bad = "x" + value[1:] if how == "tampered" else "eyJzaWQiOiJhZG1pbiJ9.forged.signature"
    c = client(console.url)
    c.cookies.set("st_console", bad)
    r = c.get("/search")
    assert r.status_code == 401 and "not valid (altered or forged)" in r.text
    rec = audit_of(firm.home, "audit.refused")[-1]
    assert rec["reason"] == "forged session cookie" and rec["actor"] == "anonymous"


@pytest.mark.parametrize("how", ["no token", "wrong token", "other origin", "no origin"])
def test_csrf_attempt_is_refused_and_nothing_is_held(firm: Firm, console: Served, how: str) -> None:
    c, _ = sign_in(console.url, "alice")
    token = form_token(c.get("/holds").text)
    data = {"session": firm.sessions["trader1"], "matter": "CSRF-1", "reason": "forged"}
    headers = {}
    if how == "wrong token":
        data["csrf"] = token[::-1]
    elif how != "no token":
        data["csrf"] = token
    if how == "other origin":
        headers["Origin"] = "http://evil.example"
    if how == "no origin":
        c.headers.pop("Origin")
    r = c.post("/holds/add", data=data, headers=headers)
    assert r.status_code == 403, r.text
    rec = audit_of(firm.home, "audit.refused")[-1]
    assert str(rec["reason"]).startswith("csrf:")
    assert rec["actor"] == "local:alice"
    assert not [h for h in audit_of(firm.home, "audit.hold") if h["matter"] == "CSRF-1"]


def test_sign_in_form_without_its_token_is_refused(firm: Firm, console: Served) -> None:
    c = client(console.url)
    r = c.post("/login", data={"name": "alice", "password": PASSWORD})
    assert r.status_code == 403 and "security token" in r.text
    assert "st_console" not in c.cookies


def test_foreign_host_header_is_refused(console: Served) -> None:
    """DNS rebinding: a request naming another host gets 421."""
    r = client(console.url).get("/login", headers={"Host": "evil.example:80"})
    assert r.status_code == 421


def test_signed_out_session_cookie_no_longer_works(console: Served) -> None:
    c, _ = sign_in(console.url, "rita")
    cookie = c.cookies["st_console"]
    token = form_token(c.get("/search").text)
    assert c.post("/logout", data={"csrf": token}).status_code == 303
    again = client(console.url)
    again.cookies.set("st_console", cookie)
    r = again.get("/search")
    assert r.status_code == 401 and "Your session has ended" in r.text


def test_non_loopback_listen_without_tls_is_refused(tmp_path: Path) -> None:
    r = run("console", "serve", "--listen", "0.0.0.0:0", home=tmp_path / "h")
    assert r.code == 2
    assert "not a loopback address" in r.err and "--tls-cert and --tls-key" in r.err


def test_cli_user_add_reads_the_password_from_stdin_and_examiner_needs_expires(
    tmp_path: Path,
) -> None:
    home = tmp_path / "h"
    r = run("console", "user", "add", "sec", "--role", "examiner", home=home)
    assert r.code == 2 and "needs --expires" in r.err
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESSIONTAPE_")}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "agent.cli.main", "--home", str(home), "console", "user", "add"]
    p = subprocess.run(
        [*cmd, "sec", "--role", "examiner", "--expires", "2099-12-31", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    r = run("console", "user", "list", home=home)
    assert "sec" in r.out and "examiner" in r.out and "expires 2100-01-01T00:00:00Z" in r.out
    assert oct((home / "console" / "console.db").stat().st_mode & 0o777) == "0o600"
    assert oct((home / "console").stat().st_mode & 0o777) == "0o700"


def test_the_console_audit_is_shipped_to_the_vault(firm: Firm, console: Served) -> None:
    """The sealed audit sessions of the firm home (sign-ins, refusals) reach its vault."""
    from agent.ship.records import vault_sessions
    from agent.ship.urls import open_vault

    sign_in(console.url, "rita")
    shipped = ship_pass(firm.home, _cfg(firm))
    assert any(k.startswith("segments/audit-") for k in shipped)
    audit_sessions = {
        s for s in vault_sessions(open_vault(firm.vault_url)) if s.startswith("audit-")
    }
    assert {str(r["audit_session"]) for r in audit_of(firm.home, "audit.signin")} <= audit_sessions


def test_a_page_without_a_session_sends_the_browser_to_sign_in(console: Served) -> None:
    r = client(console.url).get("/search")
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_sign_out_without_the_form_token_is_refused_and_the_session_lives(
    firm: Firm, console: Served
) -> None:
    c, _ = sign_in(console.url, "rita")
    r = c.post("/logout", data={})
    assert r.status_code == 403 and "security token" in r.text
    assert audit_of(firm.home, "audit.refused")[-1]["actor"] == "local:rita"
    assert c.get("/search").status_code == 200
