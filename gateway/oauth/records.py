"""Records and pure rules of account linking: scopes, lifetimes, redirect URI and scope validation."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.errors import InputError

#: The scopes a linked voice assistant may hold, with what the grant page says about each.
SCOPES: dict[str, str] = {
    "voice": "ask OmniOps to run setups after your approval, read job status and hear results",
}
DEFAULT_SCOPES = ("voice",)

ACCESS_PREFIX = "ooa_"
REFRESH_PREFIX = "oor_"
SECRET_PREFIX = "oos_"


@dataclass(frozen=True, kw_only=True)
class OAuthPolicy:
    """Lifetimes. Codes are short (RFC 6749 §4.1.2 recommends at most 10 minutes); access tokens an hour."""

    code_ttl: timedelta = timedelta(minutes=5)
    access_ttl: timedelta = timedelta(hours=1)
    refresh_ttl: timedelta = timedelta(days=365)  # sliding: each rotation starts a new year


@dataclass(frozen=True, kw_only=True)
class ClientRecord:
    id: str
    name: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None = None
    pkce_required: bool = True

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, kw_only=True)
class NewClient:
    """A just-registered client with its secret (shown once, never stored in clear)."""

    record: ClientRecord
    secret: str

    def __repr__(self) -> str:
        return f"NewClient(record={self.record!r}, secret='***')"


@dataclass(frozen=True, kw_only=True)
class CodeRecord:
    """A redeemed authorization code and the grant it opened."""

    id: str
    grant_id: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    owner_id: str
    person_id: str


@dataclass(frozen=True, kw_only=True)
class RefreshRecord:
    """A refresh token that was just claimed (rotated) for one use."""

    token_id: str
    grant_id: str
    client_id: str
    owner_id: str
    person_id: str
    scope: str


@dataclass(frozen=True, kw_only=True)
class LinkRecord:
    """An active link: one person approved one client for one owner."""

    grant_id: str
    client_id: str
    client_name: str
    owner_id: str
    person_id: str
    scope: str
    linked_at: datetime
    last_used_at: datetime | None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    """``prefix`` + 256 random bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def validate_redirect_uri(uri: str) -> str:
    """An absolute https URI (http only for loopback hosts), no fragment, no wildcard, no user info."""
    uri = uri.strip()
    try:
        parts = urlsplit(uri)
    except ValueError as err:
        raise InputError(f"Not a valid redirect URI: {uri!r}.") from err
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(f"A redirect URI must be an absolute https URL: {uri!r}.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InputError(f"Plain http is allowed only for loopback hosts: {uri!r}.")
    if parts.fragment or "#" in uri:
        raise InputError(f"A redirect URI must not contain a fragment: {uri!r}.")
    if "*" in uri or parts.username or parts.password:
        raise InputError(f"A redirect URI must be exact (no wildcards, no user info): {uri!r}.")
    if any(ord(c) < 33 for c in uri) or len(uri) > 2000:
        raise InputError("A redirect URI must not contain spaces or control characters (2000 characters at most).")
    return uri


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_scope(raw: str | None, allowed: Iterable[str]) -> str | None:
    """The granted scope string for a requested ``raw`` scope, or None if it asks for more than ``allowed``."""
    allowed_set = set(allowed)
    wanted = set((raw or "").split())
    if not wanted:
        wanted = set(DEFAULT_SCOPES) & allowed_set
    if not wanted or not wanted <= allowed_set:
        return None
    return " ".join(sorted(wanted))


def row_to_client(row: Any) -> ClientRecord:
    return ClientRecord(
        id=row.id,
        name=row.name,
        redirect_uris=tuple(row.redirect_uris),
        scopes=tuple(row.scopes.split()),
        created_at=utc(row.created_at),
        disabled_at=utc_opt(row.disabled_at),
        pkce_required=bool(row.pkce_required),
    )
