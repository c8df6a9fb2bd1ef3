"""The ``[console.oidc]`` config table: sign-in through the firm's OpenID Connect provider."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from agent.configbase import Section
from agent.console.identity import ROLES
from agent.errors import ConfigError
from agent.keystore.perms import private_file_problem

# Asymmetric signature algorithms an ID token may carry; HS* (a secret shared with every
# client of the provider) and "none" are never accepted.
SAFE_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class OidcConfig(Section):
    """OpenID Connect sign-in (authorization code flow with PKCE); off while ``issuer`` is
    empty."""

    issuer: str = ""  # the provider's issuer URL (discovery at <issuer>/.well-known/...)
    client_id: str = ""  # this console's client id at the provider
    client_secret_file: str = ""  # file (0600, this account's) holding the client secret
    redirect_path: str = "/auth/oidc/callback"  # where the provider sends the browser back
    scopes: list[str] = ["openid", "profile", "email", "groups"]
    roles_claim: str = "groups"  # the ID token claim listing the user's groups
    role_map: dict[str, list[str]] = {}  # IdP group -> console roles
    allowed_algs: list[str] = ["RS256", "ES256"]  # ID token signature algorithms accepted
    clock_skew_seconds: int = Field(60, ge=0, le=600)  # leeway on exp / iat
    timeout_seconds: int = Field(10, ge=1, le=120)  # per request to the provider

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @field_validator("role_map")
    @classmethod
    def _known_roles(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for group, roles in v.items():
            bad = [r for r in roles if r not in ROLES]
            if bad:
                raise ValueError(f"group {group!r} maps to unknown role(s) {bad} (know {ROLES})")
        return v

    @field_validator("allowed_algs")
    @classmethod
    def _safe_algs(cls, v: list[str]) -> list[str]:
        bad = [a for a in v if a not in SAFE_ALGS]
        if bad:
            raise ValueError(f"algorithm(s) {bad} not allowed for ID tokens (use {SAFE_ALGS})")
        return v

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, v: str) -> str:
        if v and not v.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("issuer must be an https:// URL (http only on the loopback)")
        return v.rstrip("/")

    def client_secret(self) -> str:
        """The client secret, read from ``client_secret_file``; a file another account could
        read, a missing file or an empty one is a :class:`ConfigError` naming it."""
        if not self.client_secret_file:
            raise ConfigError("console.oidc.client_secret_file is empty (OIDC needs it)")
        path = Path(self.client_secret_file).expanduser()
        problem = private_file_problem(path)
        if problem is not None:
            raise ConfigError(f"{path}: OIDC client secret file {problem}")
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{path}: OIDC client secret file unreadable: {exc}") from None
        if not secret:
            raise ConfigError(f"{path}: OIDC client secret file is empty")
        return secret
