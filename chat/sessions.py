"""Widget keys and widget session tokens: stateless, HMAC-signed, short-lived.

Two kinds of token, both ``<prefix>.<base64url(json)>.<base64url(hmac-sha256)>`` signed with keys derived
from the app secret (one derived key per kind, so one can never be replayed as the other):

* the **widget key** (``owk1.…``) is publishable: it sits in the embed snippet's ``data-key`` attribute and
  names the owner, the allowed origins and — only for snippets generated for a logged-in owner person — the
  person id. It never expires by itself (rotate the app secret to revoke every key).
* the **session token** (``ows1.…``) is what the widget sends as ``Authorization: Bearer`` on every chat call.
  It is exchanged for a widget key at ``POST /v1/chat/sessions`` from an allowed ``Origin`` and expires after
  ``SESSION_TTL_SECONDS``.

The logged-in rule: a session is :attr:`AuthLevel.SESSION` only when its widget key carries a ``person_id``
(the key was issued to a logged-in owner person; in this codebase that is ``omniops widget snippet --person``,
whose output must only be placed behind the owner's own login, e.g. the shop's admin pages). Every other
session is an anonymous visitor: :attr:`AuthLevel.ANONYMOUS`, with no owner rights at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.commands import AuthLevel
from core.errors import AuthenticationRequired, InputError

SESSION_TTL_SECONDS = 30 * 60
KEY_PREFIX = "owk1"
SESSION_PREFIX = "ows1"
_MAX_TOKEN = 4096


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WidgetKey(_Frozen):
    """What the publishable embed key says: whose widget, for which origins, and (maybe) which person."""

    owner_id: str = Field(min_length=1, max_length=128)
    origins: tuple[str, ...] = Field(min_length=1, max_length=20)
    person_id: str | None = Field(default=None, max_length=128)
    issued_at: int


class WidgetSession(_Frozen):
    """One widget conversation: verified from the bearer token on every request."""

    session_id: str = Field(min_length=1, max_length=128)
    owner_id: str
    person_id: str | None = None
    origin: str
    expires_at: int  # unix seconds

    @property
    def auth(self) -> AuthLevel:
        """SESSION for a logged-in owner person, ANONYMOUS for a visitor (see the module docstring)."""
        return AuthLevel.SESSION if self.person_id else AuthLevel.ANONYMOUS

    @property
    def logged_in(self) -> bool:
        return self.auth is AuthLevel.SESSION


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, default ports dropped; raises InputError when not an origin."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise InputError(f"{value!r} is not a web origin such as https://shop.example")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InputError(f"{value!r} is not a web origin such as https://shop.example")
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class WidgetSigner:
    """Issue and verify widget keys and session tokens with keys derived from the app secret."""

    def __init__(self, *, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("the widget signing secret must be at least 16 characters")
        root = secret.encode()
        self._keys = {
            KEY_PREFIX: hmac.new(root, b"omniops/widget-key/v1", hashlib.sha256).digest(),
            SESSION_PREFIX: hmac.new(root, b"omniops/widget-session/v1", hashlib.sha256).digest(),
        }

    def __repr__(self) -> str:
        return "WidgetSigner(<secret>)"

    # ------------------------------------------------------------------------------------------ tokens
    def _sign(self, prefix: str, body: dict[str, Any]) -> str:
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self._keys[prefix], f"{prefix}.{payload}".encode(), hashlib.sha256).digest()
        return f"{prefix}.{payload}.{_b64(mac)}"

    def _open(self, prefix: str, token: str) -> dict[str, Any]:
        parts = token.split(".") if 0 < len(token) <= _MAX_TOKEN else []
        if len(parts) != 3 or parts[0] != prefix:
            raise AuthenticationRequired("The widget token is missing or malformed.")
        try:
            mac = _unb64(parts[2])
            expected = hmac.new(self._keys[prefix], f"{prefix}.{parts[1]}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(mac, expected):
                raise AuthenticationRequired("The widget token is not valid.")
            body = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError) as err:
            raise AuthenticationRequired("The widget token is malformed.") from err
        if not isinstance(body, dict):
            raise AuthenticationRequired("The widget token is malformed.")
        return body

    # ------------------------------------------------------------------------------------------ keys
    def issue_key(
        self, *, owner_id: str, origins: list[str] | tuple[str, ...], now: datetime, person_id: str | None = None
    ) -> str:
        """A publishable widget key for ``owner_id`` allowed on ``origins`` (normalized)."""
        key = WidgetKey(
            owner_id=owner_id,
            origins=tuple(dict.fromkeys(normalize_origin(o) for o in origins)),
            person_id=person_id,
            issued_at=int(now.timestamp()),
        )
        return self._sign(KEY_PREFIX, key.model_dump(mode="json"))

    def read_key(self, token: str) -> WidgetKey:
        """Verify a widget key; raises AuthenticationRequired when forged or malformed."""
        try:
            return WidgetKey.model_validate(self._open(KEY_PREFIX, token))
        except ValidationError as err:
            raise AuthenticationRequired("The widget key is malformed.") from err

    # ------------------------------------------------------------------------------------------ sessions
    def issue_session(
        self, key: WidgetKey, *, origin: str, session_id: str, now: datetime, ttl_seconds: int = SESSION_TTL_SECONDS
    ) -> tuple[str, WidgetSession]:
        """A session token for ``key`` used from ``origin`` (which the caller has checked is allowed)."""
        session = WidgetSession(
            session_id=session_id,
            owner_id=key.owner_id,
            person_id=key.person_id,
            origin=origin,
            expires_at=int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        )
        return self._sign(SESSION_PREFIX, session.model_dump(mode="json")), session

    def read_session(self, token: str, *, now: datetime) -> WidgetSession:
        """Verify a session token and its expiry; raises AuthenticationRequired otherwise."""
        try:
            session = WidgetSession.model_validate(self._open(SESSION_PREFIX, token))
        except ValidationError as err:
            raise AuthenticationRequired("The widget session is malformed.") from err
        if session.expires_at <= int(now.timestamp()):
            raise AuthenticationRequired("The widget session has expired; reload the page.")
        return session


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header; raises AuthenticationRequired when absent."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationRequired("A widget session token is required (Authorization: Bearer …).")
    return token.strip()


def snippet(*, public_url: str, key: str) -> str:
    """The one ``<script>`` tag an owner pastes into their page."""
    src = f"{public_url.rstrip('/')}/v1/chat/widget.js"
    return f'<script src="{escape(src)}" data-key="{escape(key)}" async></script>'
