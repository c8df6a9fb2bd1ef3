"""Sign-in with the firm's SSO in real Chromium: the console's SSO button goes to a real
OpenID Connect provider (on 127.0.0.1) that approves at once and sends the browser back; the
user is signed in with the roles the role map gives their groups, and the audit names the
OIDC subject. A token for another audience sends the user back to the sign-in page with the
reason, and the refusal is audited like a wrong password."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext

from agent.console.pages_oidc import FLOW_COOKIE
from tests.console.app_firm import Firm, Served, audit_of, build_firm, client, serve
from tests.console.browserkit import browser, context
from tests.console.oidc_provider import OidcProvider

pytestmark = pytest.mark.browser
__all__ = ["browser", "context"]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as p:
        p.user.preferred_username = "olga"
        yield p


@pytest.fixture(scope="module")
def firm(tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider) -> Firm:
    tmp = tmp_path_factory.mktemp("console-oidc")
    f = build_firm(tmp)
    secret = tmp / "oidc-secret"
    secret.write_text(provider.client_secret + "\n")
    os.chmod(secret, 0o600)
    with (f.home / "sessiontape.toml").open("a") as out:
        out.write(
            f'[console.oidc]\nissuer = "{provider.issuer}"\nclient_id = "{provider.client_id}"\n'
            f'client_secret_file = "{secret}"\n'
            '[console.oidc.role_map]\n"compliance-reviewers" = ["reviewer"]\n'
        )
    return f


@pytest.fixture(scope="module")
def console(firm: Firm) -> Iterator[Served]:
    with serve(firm.home) as s:
        yield s


def test_sso_signs_in_with_mapped_roles_and_audits_the_oidc_subject(
    firm: Firm, console: Served, provider: OidcProvider, context: BrowserContext
) -> None:
    provider.misbehave = None
    page = context.new_page()
    page.goto(console.url + "/login")
    page.click("#sso")
    page.wait_for_selector("#who")
    assert page.inner_text("#who") == "olga (reviewer)"
    assert page.url.endswith("/search")
    assert page.goto(console.url + "/users").status == 403  # type: ignore[union-attr]
    subject = f"oidc:{provider.issuer}#{provider.user.sub}"
    signin = audit_of(firm.home, "audit.signin")[-1]
    assert (signin["actor"], signin["outcome"], signin["method"]) == (subject, "ok", "oidc")
    assert signin["actor_roles"] == ["reviewer"]
    refused = audit_of(firm.home, "audit.refused")[-1]
    assert refused["actor"] == subject and refused["path"] == "/users"


def test_a_token_for_another_audience_is_refused_and_audited(
    firm: Firm, console: Served, provider: OidcProvider, context: BrowserContext
) -> None:
    provider.misbehave = "wrong_aud"
    try:
        page = context.new_page()
        page.goto(console.url + "/login")
        page.click("#sso")
        page.wait_for_selector("#error")
    finally:
        provider.misbehave = None
    assert "wrong audience" in page.inner_text("#error")
    assert page.locator("#who").count() == 0 and page.locator("#sso").count() == 1
    rec = audit_of(firm.home, "audit.signin")[-1]
    assert (rec["actor"], rec["outcome"], rec["method"]) == ("anonymous", "refused", "oidc")
    assert "wrong audience" in str(rec["reason"])


def test_a_callback_is_single_use(firm: Firm, console: Served, provider: OidcProvider) -> None:
    c = client(console.url)
    begin = c.get("/login/oidc")
    assert begin.status_code == 303
    back = httpx.get(begin.headers["location"]).headers["location"]
    assert back.startswith(console.url + "/auth/oidc/callback?")
    first = c.get(back)
    assert first.status_code == 200 and "Signed in" in first.text
    c.cookies.set(FLOW_COOKIE, str(begin.cookies[FLOW_COOKIE]))  # the flow's cookie, replayed
    again = c.get(back)
    assert again.status_code == 401 and "no sign-in in progress" in again.text
    rec = audit_of(firm.home, "audit.signin")[-1]
    assert (rec["outcome"], rec["method"]) == ("refused", "oidc")
