"""A small real OpenID Connect provider on 127.0.0.1 for the sign-in tests.

An aiohttp server in its own thread serving discovery, the JWKS (an RSA key made per run),
``/authorize`` (auto-approves the configured test user: redirects to the client with a code
and the state) and ``/token`` (checks the client secret, the redirect URI and the PKCE S256
verifier; returns an RS256 ID token with the user's groups and the nonce). Set
``misbehave`` to one of ``MISBEHAVIOURS`` to have the next tokens go wrong in that one way.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey

MISBEHAVIOURS = ("wrong_aud", "expired", "bad_signature", "wrong_nonce", "wrong_iss", "alg_none")


@dataclass
class TestUser:
    """The user the provider signs in without asking."""

    sub: str = "u-4417"
    preferred_username: str = "alice"
    email: str = "alice@firm.test"
    groups: list[str] = field(default_factory=lambda: ["compliance-reviewers"])


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str


class OidcProvider:
    """Start with :meth:`start` (or as a context manager); ``issuer`` is its base URL."""

    def __init__(self, client_id: str = "console", client_secret: str = "s3cret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.user = TestUser()
        self.misbehave: str | None = None
        self.token_requests = 0
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self._other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self._grants: dict[str, _Grant] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def rotate_key(self, kid: str) -> None:
        """Sign from now on with a new key, published under ``kid`` (the old one withdrawn)."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OidcProvider:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def _discovery(self, _req: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _jwks(self, _req: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, req: web.Request) -> web.Response:
        q = req.query
        if q.get("client_id") != self.client_id or q.get("code_challenge_method") != "S256":
            return web.json_response({"error": "invalid_request"}, status=400)
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(
            q["client_id"], q["redirect_uri"], q.get("nonce", ""), q.get("code_challenge", "")
        )
        query = urlencode({"code": code, "state": q.get("state", "")})
        raise web.HTTPFound(f"{q['redirect_uri']}?{query}")

    async def _token(self, req: web.Request) -> web.Response:
        self.token_requests += 1
        form = await req.post()
        if req.headers.get("Authorization") != _basic(self.client_id, self.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self._grants.pop(str(form.get("code", "")), None)
        verifier = str(form.get("code_verifier", ""))
        if (
            grant is None
            or grant.redirect_uri != form.get("redirect_uri")
            or create_s256_code_challenge(verifier) != grant.challenge
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response(
            {"access_token": "at", "token_type": "Bearer", "id_token": self._id_token(grant)}
        )

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        bad = self.misbehave
        claims: dict[str, Any] = {
            "iss": self.issuer + ("/other" if bad == "wrong_iss" else ""),
            "sub": self.user.sub,
            "aud": "someone-else" if bad == "wrong_aud" else grant.client_id,
            "iat": now - 7200 if bad == "expired" else now,
            "exp": now - 3600 if bad == "expired" else now + 300,
            "nonce": "not-your-nonce" if bad == "wrong_nonce" else grant.nonce,
            "preferred_username": self.user.preferred_username,
            "email": self.user.email,
            "groups": self.user.groups,
        }
        if bad == "alg_none":
            return _b64(json.dumps({"alg": "none"})) + "." + _b64(json.dumps(claims)) + "."
        key = self._other_key if bad == "bad_signature" else self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, key)


def _b64(s: str) -> str:
    return base64.urlsafe_b64encode(s.encode()).rstrip(b"=").decode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
