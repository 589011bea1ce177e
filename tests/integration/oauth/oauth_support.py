"""Helpers for the account-linking tests: a live HTTP server, a linking client that walks the browser flow.

The app is the real app factory with the identity and oauth blueprints wired the way bootstrap will wire
them; requests go over real loopback HTTP (werkzeug's server in a thread) with httpx.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from flask import Flask
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from gateway.db import create_schema
from gateway.identity.schema import SCHEMA as IDENTITY_SCHEMA
from gateway.oauth.schema import SCHEMA
from gateway.oauth.server import OAuthService
from gateway.oauth.store import OAuthStore
from tests.integration.identity.identity_support import PASSWORD, ListAudit, MutableClock, RandomIds

ALEXA_REDIRECT = "https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA"
GOOGLE_REDIRECT = "https://oauth-redirect.googleusercontent.com/r/omniops-test"


def make_oauth(engine: Engine, clock: MutableClock, audit: ListAudit) -> OAuthService:
    create_schema(engine, [IDENTITY_SCHEMA, SCHEMA])
    return OAuthService(OAuthStore(engine, clock, RandomIds(), audit))


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636 §4.1–4.2."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class Linker:
    """Plays the browser (signed-in person) and the voice platform (confidential client)."""

    base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str = ALEXA_REDIRECT
    browser: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.browser = httpx.Client(base_url=self.base_url, follow_redirects=False, timeout=30)

    def close(self) -> None:
        self.browser.close()

    def authorize_url(self, *, challenge: str | None, state: str | None = "st-1", **extra: str | None) -> str:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "voice",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256" if challenge else None,
        }
        params.update(extra)
        return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})

    def login(self, email: str, password: str = PASSWORD, *, next_path: str = "/account") -> httpx.Response:
        token = csrf_from(self.browser.get("/login", params={"next": next_path}).text)
        resp = self.browser.post(
            "/login", data={"email": email, "password": password, "csrf_token": token, "next": next_path}
        )
        assert resp.status_code == 302, resp.text
        return resp

    def decide(self, url: str, decision: str = "approve", *, csrf: bool = True) -> httpx.Response:
        page = self.browser.get(url)
        assert page.status_code == 200, page.text
        data = {"decision": decision}
        if csrf:
            data["csrf_token"] = csrf_from(page.text)
        return self.browser.post(url, data=data)

    def get_code(self, email: str, *, state: str = "st-1") -> tuple[str, str]:
        """Sign in, approve; returns (code, verifier)."""
        verifier, challenge = pkce_pair()
        url = self.authorize_url(challenge=challenge, state=state)
        if self.browser.get(url).status_code == 302:
            self.login(email, next_path=url)
        resp = self.decide(url)
        assert resp.status_code == 302, resp.text
        params = query_of(resp.headers["Location"])
        assert params["state"] == state
        return params["code"], verifier

    def token(self, data: dict[str, str], *, auth: str = "basic", secret: str | None = None) -> httpx.Response:
        secret = self.client_secret if secret is None else secret
        with httpx.Client(base_url=self.base_url, timeout=30) as platform:  # no browser cookies
            if auth == "basic":
                return platform.post("/oauth/token", data=data, auth=(self.client_id, secret))
            return platform.post("/oauth/token", data={**data, "client_id": self.client_id, "client_secret": secret})

    def exchange(self, code: str, verifier: str | None, **kw: Any) -> httpx.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier is not None:
            data["code_verifier"] = verifier
        return self.token(data, **kw)

    def refresh(self, refresh_token: str, **kw: Any) -> httpx.Response:
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token}, **kw)
