"""Reading credentials off requests: bearer tokens for owner APIs (resolved by the identity store)."""

from __future__ import annotations

from flask import current_app, request

from core.commands import Principal
from core.errors import AuthenticationRequired


def bearer_token() -> str | None:
    """The raw bearer token of the current request, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def require_owner(scope: str) -> Principal:
    """Resolve the request's owner token for ``scope`` or raise 401 (problem+json via the boundary)."""
    raw = bearer_token()
    if raw is None:
        raise AuthenticationRequired("An owner API token is required (Authorization: Bearer …).")
    principal: Principal = current_app.extensions["omniops"].resolve_owner_token(raw, scope)
    return principal
