"""OIDC sign-in against a real provider on the loopback: the full flow, and each refusal."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from agent.console.identity import REVIEWER, SUPERVISOR, Principal
from agent.console.oidc import OidcClient, OidcState
from agent.console.oidc_config import OidcConfig
from agent.errors import AuthError, ConfigError
from tests.console.oidc_provider import OidcProvider

REDIRECT = "https://console.firm.test/auth/oidc/callback"


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with OidcProvider() as p:
        yield p


def _config(tmp_path: Path, issuer: str, **kw: object) -> OidcConfig:
    secret = tmp_path / "oidc-secret"
    if not secret.exists():
        secret.write_text("s3cret\n")
        os.chmod(secret, 0o600)
    fields: dict[str, object] = {
        "issuer": issuer,
        "client_id": "console",
        "client_secret_file": str(secret),
        "role_map": {
            "compliance-reviewers": [REVIEWER],
            "compliance-supervisors": [SUPERVISOR, REVIEWER],
        },
        **kw,
    }
    return OidcConfig.model_validate(fields)


async def _sign_in(client: OidcClient, *, tamper_state: bool = False) -> Principal:
    """Begin, follow the authorize redirect as a browser would, then complete."""
    url, record = await client.begin(REDIRECT)
    async with httpx.AsyncClient() as browser:
        resp = await browser.get(url, follow_redirects=False)
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if tamper_state:
        params["state"] = "forged"
    stored = record.as_dict()  # what a session store keeps
    return await client.complete(params, stored, REDIRECT)


def _run(client: OidcClient, **kw: bool) -> Principal:
    return asyncio.run(_sign_in(client, **kw))


def test_full_flow_gives_a_principal_with_mapped_roles_and_issuer_subject(
    provider: OidcProvider, tmp_path: Path
) -> None:
    """Authorize URL -> provider redirect with code+state -> token exchange -> validated ID
    token -> Principal with the roles role_map gives the user's groups."""
    provider.user.groups = ["compliance-supervisors", "unrelated-group"]
    p = _run(OidcClient(_config(tmp_path, provider.issuer)))
    assert p.subject == f"oidc:{provider.issuer}#u-4417"
    assert p.name == "alice"
    assert p.roles == frozenset({SUPERVISOR, REVIEWER})


def test_a_rotated_signing_key_is_fetched_again_by_its_new_kid(
    provider: OidcProvider, tmp_path: Path
) -> None:
    """The client caches the JWKS; a token under a kid it has not seen makes it fetch the
    key set once more instead of refusing the user."""
    client = OidcClient(_config(tmp_path, provider.issuer))
    _run(client)
    provider.rotate_key("k2")
    assert _run(client).subject == f"oidc:{provider.issuer}#u-4417"


def test_authorize_url_carries_state_nonce_and_s256_challenge(
    provider: OidcProvider, tmp_path: Path
) -> None:
    """The authorize request has PKCE S256 and fresh state/nonce the record keeps."""
    client = OidcClient(_config(tmp_path, provider.issuer))
    url, record = asyncio.run(client.begin(REDIRECT))
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert q["code_challenge_method"] == "S256"
    assert q["state"] == record.state and q["nonce"] == record.nonce
    assert q["code_challenge"] != record.code_verifier
    assert q["scope"].split() == ["openid", "profile", "email", "groups"]
    _, second = asyncio.run(client.begin(REDIRECT))
    assert second.state != record.state and second.nonce != record.nonce


@pytest.mark.parametrize(
    ("misbehave", "message"),
    [
        ("wrong_aud", "wrong audience"),
        ("expired", "expired"),
        ("bad_signature", "bad signature"),
        ("wrong_nonce", "bad nonce"),
        ("wrong_iss", "wrong issuer"),
        ("alg_none", "algorithm 'none' not allowed"),
    ],
)
def test_a_bad_id_token_is_refused_with_its_own_reason(
    provider: OidcProvider, tmp_path: Path, misbehave: str, message: str
) -> None:
    """Each way an ID token can be wrong gives its one-line AuthError."""
    provider.misbehave = misbehave
    with pytest.raises(AuthError, match=message) as e:
        _run(OidcClient(_config(tmp_path, provider.issuer)))
    assert "\n" not in e.value.message


def test_a_forged_state_is_refused_before_the_code_is_exchanged(
    provider: OidcProvider, tmp_path: Path
) -> None:
    """A callback whose state is not the sign-in's own never reaches the token endpoint."""
    with pytest.raises(AuthError, match="bad state"):
        _run(OidcClient(_config(tmp_path, provider.issuer)), tamper_state=True)
    assert provider.token_requests == 0


def test_a_user_without_a_mapped_group_is_refused(provider: OidcProvider, tmp_path: Path) -> None:
    """Signing in proves who the user is; without a mapped group they get no console role."""
    provider.user.groups = ["traders"]
    with pytest.raises(AuthError, match="alice has no console role"):
        _run(OidcClient(_config(tmp_path, provider.issuer)))


def test_a_wrong_client_secret_is_refused_by_the_token_endpoint(
    provider: OidcProvider, tmp_path: Path
) -> None:
    """The code is useless without the client secret: the provider refuses the exchange."""
    provider.client_secret = "another"
    with pytest.raises(AuthError, match="refused the code: HTTP 401 invalid_client"):
        _run(OidcClient(_config(tmp_path, provider.issuer)))


def test_an_unreachable_provider_is_a_retryable_auth_error(tmp_path: Path) -> None:
    """Nothing listening at the issuer: one line naming the URL, retryable."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OidcClient(_config(tmp_path, f"http://127.0.0.1:{port}"))
    with pytest.raises(AuthError, match="OIDC provider unreachable: http://127.0.0.1") as e:
        asyncio.run(client.begin(REDIRECT))
    assert e.value.retryable


def test_a_stale_sign_in_is_refused(provider: OidcProvider, tmp_path: Path) -> None:
    """A state record older than ten minutes is not accepted."""
    client = OidcClient(_config(tmp_path, provider.issuer))
    _, record = asyncio.run(client.begin(REDIRECT))
    old = OidcState(**{**record.as_dict(), "created_ns": record.created_ns - 11 * 60 * 10**9})
    with pytest.raises(AuthError, match="took too long"):
        asyncio.run(client.complete({"state": record.state, "code": "c"}, old, REDIRECT))


def test_client_secret_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A client secret another account could read is never used."""
    cfg = _config(tmp_path, "http://127.0.0.1:1")
    os.chmod(cfg.client_secret_file, 0o644)
    with pytest.raises(ConfigError, match="mode 0644"):
        OidcClient(cfg)


def test_config_refuses_none_and_hs_algorithms_and_unknown_roles() -> None:
    """alg allowlist has no 'none' nor HS*, and role_map names console roles only."""
    with pytest.raises(ValueError, match="not allowed"):
        OidcConfig(allowed_algs=["none"])
    with pytest.raises(ValueError, match="not allowed"):
        OidcConfig(allowed_algs=["HS256"])
    with pytest.raises(ValueError, match="unknown role"):
        OidcConfig(role_map={"g": ["god"]})
