"""Shared helpers for server-rendered pages: session cookie settings, CSRF, and security headers.

Use from any blueprint that renders forms (login, account, consent, widget login)::

    configure_sessions(app, public_url=settings.public_url)   # once, in create_app
    init_web(app)                                            # once: csrf_field() in Jinja, page headers

    @bp.post("/consent/<token>")
    def decide(token): require_csrf(); ...

In templates, every ``<form method="post">`` contains ``{{ csrf_field() }}``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request, session
from markupsafe import Markup

from core.errors import Forbidden

CSRF_SESSION_KEY = "_csrf"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE_NAME = "omniops_session"

#: Content-Security-Policy for our plain pages: no scripts at all, inline styles only, forms post to us.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class CsrfFailed(Forbidden):
    status, code, title = 403, "csrf_failed", "Form expired or forged"


def configure_sessions(app: Flask, *, public_url: str | None, lifetime: timedelta = timedelta(hours=12)) -> None:
    """Session cookie: ``Secure`` when the public URL is https, ``HttpOnly``, ``SameSite=Lax``, named, bounded."""
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        SESSION_COOKIE_SECURE=bool(public_url and public_url.lower().startswith("https://")),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=lifetime,
    )


def init_web(app: Flask) -> None:
    """Make ``csrf_field()`` and ``csrf_token()`` available in every template (idempotent)."""
    app.jinja_env.globals.setdefault("csrf_field", csrf_field)
    app.jinja_env.globals.setdefault("csrf_token", csrf_token)


def csrf_token() -> str:
    """This session's CSRF token, created on first use (256 random bits)."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_field() -> Markup:
    """The hidden ``<input>`` carrying the CSRF token, for Jinja: ``{{ csrf_field() }}``."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FORM_FIELD, csrf_token())


def require_csrf() -> None:
    """Refuse (``CsrfFailed``, 403) a state-changing request without this session's CSRF token.

    Checks the form field ``csrf_token`` (or the ``X-CSRF-Token`` header) in constant time, and, when the
    browser sends an ``Origin`` header, that it is this host.
    """
    expected = session.get(CSRF_SESSION_KEY)
    given = request.form.get(CSRF_FORM_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(expected, str) or not expected or not secrets.compare_digest(expected, given):
        raise CsrfFailed("This form has expired or did not come from our page. Reload the page and try again.")
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc.lower() != request.host.lower():
        raise CsrfFailed("This form was sent from another site.")


def rotate_session() -> None:
    """Forget everything in the session (call on login and logout: no session fixation)."""
    session.clear()
    session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)


def page_headers(response: Response) -> Response:
    """Headers for pages that show personal data or forms: no caching, no framing, no referrer, strict CSP."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    return response


def client_ip() -> str | None:
    """The peer address (``ProxyFix`` in the app factory decides whether to trust forwarded headers)."""
    return request.remote_addr


def user_agent() -> str | None:
    value: Any = request.headers.get("User-Agent")
    return str(value)[:300] if value else None


def safe_next(target: str | None, default: str) -> str:
    """A same-site relative path to go to after login (``/account``), never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target
