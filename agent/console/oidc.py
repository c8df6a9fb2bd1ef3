"""OpenID Connect sign-in: the authorization code flow with PKCE (S256), state and nonce.

::

    begin(redirect_uri)   -> (authorize URL, OidcState)   the caller keeps the state record
                                                           in its server-side session
    browser -> provider -> redirect_uri?code=..&state=..
    complete(params, state_record, redirect_uri) -> Principal

``complete`` checks the state (constant-time) and the record's age, exchanges the code at the
token endpoint (client secret + PKCE verifier), then validates the ID token: signature
against the provider's JWKS (found through ``/.well-known/openid-configuration``; fetched again
once for an unknown ``kid``, which is how a provider rotates keys), the algorithm against
``allowed_algs`` (never ``none``, never a shared-secret HS*), ``iss``, ``aud`` (and ``azp``
when there are several audiences), ``exp`` and ``iat`` with ``clock_skew_seconds`` of leeway,
and the nonce. The user's groups (``roles_claim``) are mapped through ``role_map``; a user
none of whose groups maps to a role is refused. The subject is ``oidc:<issuer>#<sub>``.
Every refusal is one :class:`~agent.errors.AuthError` line.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from agent.clock import Clock, SystemClock
from agent.console.identity import Principal
from agent.console.oidc_config import OidcConfig
from agent.errors import AuthError

STATE_MAX_AGE_NS = 10 * 60 * 1_000_000_000  # a sign-in must come back within ten minutes


@dataclass(frozen=True)
class OidcState:
    """What :meth:`OidcClient.begin` hands the caller to keep (server side) until the
    callback: never sent to the browser except ``state`` inside the authorize URL."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_ns: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> OidcState:
        """The record back from a session store; a malformed one is an :class:`AuthError`."""
        try:
            return cls(
                state=str(d["state"]),
                nonce=str(d["nonce"]),
                code_verifier=str(d["code_verifier"]),
                redirect_uri=str(d["redirect_uri"]),
                created_ns=int(d["created_ns"]),
            )
        except (KeyError, TypeError, ValueError):
            raise AuthError("OIDC sign-in: no valid sign-in in progress (start again)") from None


class OidcClient:
    """One configured provider. Discovery and the JWKS are fetched on first use and cached."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not config.enabled:
            raise AuthError("OIDC sign-in is not configured (console.oidc.issuer is empty)")
        self.config = config
        self.clock = clock or SystemClock()
        self._secret = config.client_secret()
        self._transport = transport
        self._meta: dict[str, Any] | None = None
        self._jwks: KeySet | None = None

    # --- the flow -------------------------------------------------------------------------
    async def begin(self, redirect_uri: str) -> tuple[str, OidcState]:
        """The provider's authorize URL for a new sign-in, and the record to keep."""
        meta = await self.metadata()
        record = OidcState(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
            created_ns=self.clock.utc_ns(),
        )
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": record.state,
            "nonce": record.nonce,
            "code_challenge": create_s256_code_challenge(record.code_verifier),
            "code_challenge_method": "S256",
        }
        endpoint = str(meta["authorization_endpoint"])
        sep = "&" if "?" in endpoint else "?"
        return endpoint + sep + urlencode(query), record

    async def complete(
        self,
        params: Mapping[str, str],
        state_record: OidcState | Mapping[str, Any],
        redirect_uri: str,
    ) -> Principal:
        """The principal the provider's callback proves; :class:`AuthError` otherwise."""
        record = (
            state_record
            if isinstance(state_record, OidcState)
            else OidcState.from_dict(state_record)
        )
        self._check_callback(params, record, redirect_uri)
        id_token = await self._exchange(params["code"], record)
        claims = await self.validate_id_token(id_token, record.nonce)
        return self.principal(claims)

    def _check_callback(
        self, params: Mapping[str, str], record: OidcState, redirect_uri: str
    ) -> None:
        if "error" in params:
            why = params.get("error_description") or params["error"]
            raise AuthError(f"OIDC provider refused the sign-in: {params['error']}: {why}")
        if not hmac.compare_digest(params.get("state", ""), record.state):
            raise AuthError("OIDC sign-in: bad state (the callback is not for this sign-in)")
        if self.clock.utc_ns() - record.created_ns > STATE_MAX_AGE_NS:
            raise AuthError("OIDC sign-in: the sign-in took too long (start again)")
        if redirect_uri != record.redirect_uri:
            raise AuthError("OIDC sign-in: redirect URI differs from the one the sign-in used")
        if not params.get("code"):
            raise AuthError("OIDC sign-in: the callback carries no code")

    async def _exchange(self, code: str, record: OidcState) -> str:
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": record.redirect_uri,
            "code_verifier": record.code_verifier,
        }
        url = str(meta["token_endpoint"])
        resp = await self._request(
            "POST", url, data=form, auth=(self.config.client_id, self._secret)
        )
        body = _json(resp, url)
        if resp.status_code != 200:
            err = body.get("error", "") if isinstance(body, dict) else ""
            why = f"HTTP {resp.status_code} {err}".rstrip()
            raise AuthError(f"OIDC token endpoint {url} refused the code: {why}")
        token = body.get("id_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise AuthError(f"OIDC token endpoint {url} returned no id_token")
        return token

    # --- the ID token ---------------------------------------------------------------------
    async def validate_id_token(self, token: str, nonce: str) -> dict[str, Any]:
        """The claims of ``token`` once signature, algorithm, issuer, audience, times and
        nonce all check out."""
        header = _header(token)
        alg = header.get("alg")
        if alg not in self.config.allowed_algs:
            raise AuthError(
                f"OIDC ID token: algorithm {alg!r} not allowed (allowed: "
                f"{', '.join(self.config.allowed_algs)})"
            )
        claims = await self._verified_claims(token, str(header.get("kid", "")))
        self._check_claims(claims, nonce)
        return claims

    async def _verified_claims(self, token: str, kid: str) -> dict[str, Any]:
        keys = await self._keys()
        if kid and not _has_kid(keys, kid):
            self._jwks = None  # the provider may have rotated its keys: fetch them once more
            keys = await self._keys()
        try:
            return dict(jwt.decode(token, keys, algorithms=self.config.allowed_algs).claims)
        except BadSignatureError:
            raise AuthError("OIDC ID token: bad signature (not signed by the issuer)") from None
        except (JoseError, ValueError) as exc:
            raise AuthError(f"OIDC ID token: not verifiable: {exc}") from None

    def _check_claims(self, claims: Mapping[str, Any], nonce: str) -> None:
        cfg = self.config
        if claims.get("iss") != cfg.issuer:
            raise AuthError(f"OIDC ID token: wrong issuer {claims.get('iss')!r}")
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if cfg.client_id not in auds:
            raise AuthError(f"OIDC ID token: wrong audience {aud!r} (this console is not in it)")
        if len(auds) > 1 and claims.get("azp") != cfg.client_id:
            raise AuthError("OIDC ID token: several audiences and azp is not this console")
        now_s = self.clock.utc_ns() // 1_000_000_000
        skew = cfg.clock_skew_seconds
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int):
            raise AuthError("OIDC ID token: exp or iat missing")
        if exp <= now_s - skew:
            raise AuthError(f"OIDC ID token: expired {now_s - exp} s ago")
        if iat > now_s + skew:
            raise AuthError(f"OIDC ID token: issued {iat - now_s} s in the future")
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
            str(claims["nonce"]), nonce
        ):
            raise AuthError("OIDC ID token: bad nonce (not issued for this sign-in)")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise AuthError("OIDC ID token: no subject")

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """The console principal for validated ``claims``: roles through ``role_map``."""
        groups = claims.get(self.config.roles_claim, [])
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list):
            groups = []
        roles = {r for g in groups if isinstance(g, str) for r in self.config.role_map.get(g, [])}
        sub = str(claims["sub"])
        name = str(claims.get("preferred_username") or claims.get("email") or sub)
        if not roles:
            raise AuthError(
                f"OIDC sign-in: {name} has no console role (none of their "
                f"{self.config.roles_claim} is in console.oidc.role_map)"
            )
        return Principal(
            subject=f"oidc:{self.config.issuer}#{sub}", name=name, roles=frozenset(roles)
        )

    # --- the provider's documents ---------------------------------------------------------
    async def metadata(self) -> dict[str, Any]:
        """The discovery document (cached); its issuer must be the configured one."""
        if self._meta is None:
            url = self.config.issuer + "/.well-known/openid-configuration"
            meta = _json(await self._request("GET", url), url)
            if not isinstance(meta, dict) or meta.get("issuer") != self.config.issuer:
                raise AuthError(f"OIDC discovery {url}: issuer does not match the configured one")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(meta.get(key), str):
                    raise AuthError(f"OIDC discovery {url}: no {key}")
            self._meta = meta
        return self._meta

    async def _keys(self) -> KeySet:
        if self._jwks is None:
            url = str((await self.metadata())["jwks_uri"])
            doc = _json(await self._request("GET", url), url)
            try:
                self._jwks = KeySet.import_key_set(doc)
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise AuthError(f"OIDC JWKS {url}: unusable key set: {exc}") from None
        return self._jwks

    async def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            async with httpx.AsyncClient(
                transport=self._transport, timeout=self.config.timeout_seconds
            ) as client:
                return await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise AuthError(f"OIDC provider unreachable: {url}: {exc}", retryable=True) from None


def _json(resp: httpx.Response, url: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise AuthError(f"OIDC provider {url}: HTTP {resp.status_code}, not JSON") from None


def _header(token: str) -> dict[str, Any]:
    try:
        raw = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, IndexError):
        raise AuthError("OIDC ID token: malformed (not a JWT)") from None
    if not isinstance(header, dict):
        raise AuthError("OIDC ID token: malformed header")
    return header


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)
