"""`OAuthStore`: clients, authorization codes, grants and tokens in SQL (SQLite or PostgreSQL, SQLAlchemy Core).

Every single-use rule is enforced by one conditional ``UPDATE … WHERE consumed_at IS NULL`` (or
``rotated_at IS NULL``) whose row count decides, so two racing requests can never both win, on either backend.
Detected replays revoke the whole grant (token family), per RFC 6749 §4.1.2 / RFC 9700 §4.14:

* a code redeemed twice: the second attempt fails and every token issued from the first is revoked;
* a rotated refresh token presented again: it fails and the family is revoked.

Nothing here knows about HTTP or Authlib; :mod:`gateway.oauth.server` adapts these records to Authlib.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.commands import AuthLevel, Principal
from core.errors import AuthenticationRequired, Conflict, InputError, NotFound
from core.ports import AuditEntry, AuditLog, Clock, Ids
from gateway.oauth import schema

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
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"IssuedTokens(expires_in={self.expires_in})"


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


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


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


def _client(row: Any) -> ClientRecord:
    return ClientRecord(
        id=row.id,
        name=row.name,
        redirect_uris=tuple(row.redirect_uris),
        scopes=tuple(row.scopes.split()),
        created_at=_utc(row.created_at),
        disabled_at=_utc_opt(row.disabled_at),
        pkce_required=bool(row.pkce_required),
    )


class OAuthStore:
    """Clients, codes, grants and tokens, with every link, unlink and token issue audited."""

    def __init__(
        self, engine: Engine, clock: Clock, ids: Ids, audit: AuditLog, *, policy: OAuthPolicy | None = None
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._ids = ids
        self._audit = audit
        self.policy = policy or OAuthPolicy()

    def __repr__(self) -> str:
        return f"OAuthStore(engine={self._engine.url.render_as_string(hide_password=True)!r})"

    def now(self) -> datetime:
        return _utc(self._clock.now())

    # ------------------------------------------------------------------------------------------- audit
    def record(
        self,
        action: str,
        *,
        owner_id: str | None,
        agent: str,
        success: bool | None = True,
        ip: str | None = None,
        user_agent: str | None = None,
        **detail: Any,
    ) -> None:
        """Append one ``oauth.*`` audit entry (``detail`` never holds a secret)."""
        self._audit.append(
            AuditEntry(
                owner_id=owner_id,
                action=f"oauth.{action}",
                agent=agent,
                success=success,
                ip_address=ip,
                user_agent=(user_agent or None) and user_agent[:300],
                detail={k: v for k, v in detail.items() if v is not None},
            )
        )

    # ------------------------------------------------------------------------------------------- clients
    def add_client(
        self,
        *,
        name: str,
        redirect_uris: Sequence[str],
        scopes: Sequence[str] = DEFAULT_SCOPES,
        pkce_required: bool = True,
        agent: str,
    ) -> NewClient:
        """Register a client; the secret is in the result only (stored as SHA-256).

        ``pkce_required=False`` exempts a *confidential* client whose platform cannot send PKCE (RFC 9700
        §2.1.1 requires PKCE for public clients; every client here authenticates with its secret). A
        challenge such a client does send is still enforced, and ``plain`` is still refused.
        """
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise InputError("A client needs a name of at most 100 characters.")
        uris = list(dict.fromkeys(validate_redirect_uri(u) for u in redirect_uris))
        if not uris:
            raise InputError("A client needs at least one redirect URI.")
        unknown = set(scopes) - set(SCOPES)
        if unknown or not scopes:
            raise InputError(f"Unknown or missing scope(s): {', '.join(sorted(unknown))}. Known: {', '.join(SCOPES)}.")
        client_id = "ooc_" + secrets.token_urlsafe(18)
        secret = new_secret(SECRET_PREFIX)
        now = self.now()
        c = schema.clients
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    c.insert().values(
                        id=client_id,
                        name=name,
                        secret_hash=sha256(secret),
                        redirect_uris=uris,
                        scopes=" ".join(sorted(set(scopes))),
                        pkce_required=pkce_required,
                        created_at=now,
                    )
                )
                row = conn.execute(sa.select(c).where(c.c.id == client_id)).one()
        except IntegrityError as err:
            raise Conflict(f"A client named {name!r} already exists.") from err
        self.record(
            "client_added",
            owner_id=None,
            agent=agent,
            client_id=client_id,
            name=name,
            redirect_uris=uris,
            pkce_required=pkce_required,
        )
        return NewClient(record=_client(row), secret=secret)

    def get_client(self, client_id: str) -> ClientRecord | None:
        """An active client by id, or None (unknown or disabled)."""
        if not client_id or len(client_id) > 64:
            return None
        c = schema.clients
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(c).where(c.c.id == client_id, c.c.disabled_at.is_(None))).first()
        return None if row is None else _client(row)

    def list_clients(self) -> list[ClientRecord]:
        c = schema.clients
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(c).order_by(c.c.created_at, c.c.id)).all()
        return [_client(r) for r in rows]

    def check_client_secret(self, client_id: str, secret: str) -> bool:
        """Constant-time comparison of the secret's hash with the stored one (active clients only)."""
        c = schema.clients
        with self._engine.connect() as conn:
            stored = conn.execute(
                sa.select(c.c.secret_hash).where(c.c.id == client_id, c.c.disabled_at.is_(None))
            ).scalar_one_or_none()
        return stored is not None and secrets.compare_digest(stored, sha256(secret))

    def disable_client(self, client_id: str, *, agent: str) -> ClientRecord:
        """Disable a client and revoke every grant it holds (idempotent)."""
        c, g = schema.clients, schema.grants
        now = self.now()
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(c).where(c.c.id == client_id)).first()
            if row is None:
                raise NotFound("No such client.")
            if row.disabled_at is None:
                conn.execute(c.update().where(c.c.id == client_id).values(disabled_at=now))
            grant_ids = (
                conn.execute(sa.select(g.c.id).where(g.c.client_id == client_id, g.c.revoked_at.is_(None)))
                .scalars()
                .all()
            )
            for grant_id in grant_ids:
                self._revoke_grant(conn, grant_id, reason="client_disabled", now=now)
            row = conn.execute(sa.select(c).where(c.c.id == client_id)).one()
        self.record("client_disabled", owner_id=None, agent=agent, client_id=client_id, grants_revoked=len(grant_ids))
        return _client(row)

    # --------------------------------------------------------------------------------------------- codes
    def save_code(
        self,
        code: str,
        *,
        client_id: str,
        redirect_uri: str,
        scope: str,
        code_challenge: str | None,
        code_challenge_method: str | None,
        owner_id: str,
        person_id: str,
    ) -> None:
        """Store a freshly issued code (hashed), valid for ``policy.code_ttl``."""
        now = self.now()
        with self._engine.begin() as conn:
            conn.execute(
                schema.codes.insert().values(
                    id=self._ids.new_id("oac"),
                    code_hash=sha256(code),
                    client_id=client_id,
                    redirect_uri=redirect_uri,
                    scope=scope,
                    code_challenge=code_challenge,
                    code_challenge_method=code_challenge_method,
                    owner_id=owner_id,
                    person_id=person_id,
                    created_at=now,
                    expires_at=now + self.policy.code_ttl,
                )
            )

    def redeem_code(self, code: str, client_id: str) -> CodeRecord | None:
        """Consume ``code`` for ``client_id`` (once) and open its grant.

        Returns None for an unknown, expired or other client's code. A code already consumed is a replay:
        the grant opened by its first use is revoked (with all its tokens) and None is returned.
        """
        k, g = schema.codes, schema.grants
        now = self.now()
        code_hash = sha256(code)
        replay: tuple[str, str | None] | None = None
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(k).where(k.c.code_hash == code_hash)).first()
            if row is None or row.client_id != client_id:
                return None
            if row.consumed_at is None:
                won = conn.execute(
                    k.update()
                    .where(k.c.id == row.id, k.c.consumed_at.is_(None), k.c.expires_at > now)
                    .values(consumed_at=now)
                ).rowcount
                if won == 1:
                    grant_id = self._ids.new_id("oag")
                    conn.execute(
                        g.insert().values(
                            id=grant_id,
                            code_id=row.id,
                            client_id=row.client_id,
                            owner_id=row.owner_id,
                            person_id=row.person_id,
                            scope=row.scope,
                            created_at=now,
                        )
                    )
                    return CodeRecord(
                        id=row.id,
                        grant_id=grant_id,
                        client_id=row.client_id,
                        redirect_uri=row.redirect_uri,
                        scope=row.scope,
                        code_challenge=row.code_challenge,
                        code_challenge_method=row.code_challenge_method,
                        owner_id=row.owner_id,
                        person_id=row.person_id,
                    )
                # expired, or a racing request consumed it first (then this one is a replay)
                row = conn.execute(sa.select(k).where(k.c.id == row.id)).one()
                if row.consumed_at is None:
                    return None
            first_grant = conn.execute(sa.select(g.c.id).where(g.c.code_id == row.id)).scalar_one_or_none()
            if first_grant is not None:
                self._revoke_grant(conn, first_grant, reason="code_reused", now=now)
            replay = (row.owner_id, first_grant)
        self.record(
            "code_reused",
            owner_id=replay[0],
            agent=f"oauth_client:{client_id}",
            success=False,
            client_id=client_id,
            grant_revoked=replay[1],
        )
        return None

    # -------------------------------------------------------------------------------------------- tokens
    def issue_tokens(self, grant_id: str, *, grant_type: str, access_token: str, refresh_token: str) -> None:
        """Store a new access/refresh pair in ``grant_id``'s family.

        The first pair of a grant makes it a link (``linked_at``) and retires the same person's older links
        to the same client (a re-link replaces the old one).
        """
        t, g = schema.tokens, schema.grants
        now = self.now()
        with self._engine.begin() as conn:
            grant = conn.execute(sa.select(g).where(g.c.id == grant_id)).one()
            conn.execute(
                t.insert().values(
                    id=self._ids.new_id("oat"),
                    grant_id=grant_id,
                    access_hash=sha256(access_token),
                    refresh_hash=sha256(refresh_token),
                    created_at=now,
                    access_expires_at=now + self.policy.access_ttl,
                    refresh_expires_at=now + self.policy.refresh_ttl,
                )
            )
            first = grant.linked_at is None
            values: dict[str, Any] = {"last_used_at": now}
            if first:
                values["linked_at"] = now
            conn.execute(g.update().where(g.c.id == grant_id).values(**values))
            superseded: list[str] = []
            if first:
                superseded = list(
                    conn.execute(
                        sa.select(g.c.id).where(
                            g.c.client_id == grant.client_id,
                            g.c.person_id == grant.person_id,
                            g.c.owner_id == grant.owner_id,
                            g.c.id != grant_id,
                            g.c.revoked_at.is_(None),
                        )
                    ).scalars()
                )
                for old in superseded:
                    self._revoke_grant(conn, old, reason="relinked", now=now)
        agent = f"oauth_client:{grant.client_id}"
        if first:
            self.record(
                "linked",
                owner_id=grant.owner_id,
                agent=agent,
                client_id=grant.client_id,
                person_id=grant.person_id,
                grant_id=grant_id,
                scope=grant.scope,
                replaced=superseded or None,
            )
        self.record(
            "token_issued",
            owner_id=grant.owner_id,
            agent=agent,
            client_id=grant.client_id,
            grant_id=grant_id,
            grant_type=grant_type,
        )

    def claim_refresh(self, refresh_token: str, client_id: str) -> RefreshRecord | None:
        """Use ``refresh_token`` once (rotation). A token already used revokes its whole family."""
        t, g = schema.tokens, schema.grants
        now = self.now()
        query = (
            sa.select(
                t.c.id,
                t.c.grant_id,
                t.c.rotated_at,
                t.c.revoked_at,
                t.c.refresh_expires_at,
                g.c.client_id,
                g.c.owner_id,
                g.c.person_id,
                g.c.scope,
                g.c.revoked_at.label("grant_revoked_at"),
            )
            .join(g, g.c.id == t.c.grant_id)
            .where(t.c.refresh_hash == sha256(refresh_token))
        )
        with self._engine.begin() as conn:
            row = conn.execute(query).first()
            if row is None or row.client_id != client_id:
                return None
            # One family at a time, grant row first (the order every revocation uses): racing uses of a
            # refresh token serialize here instead of deadlocking on the token row.
            conn.execute(sa.select(g.c.id).where(g.c.id == row.grant_id).with_for_update())
            row = conn.execute(query).one()
            if row is None or row.client_id != client_id:
                return None
            if row.revoked_at is not None or row.grant_revoked_at is not None:
                return None
            replay = row.rotated_at is not None
            if not replay:
                if row.refresh_expires_at is None or _utc(row.refresh_expires_at) <= now:
                    return None
                won = conn.execute(
                    t.update().where(t.c.id == row.id, t.c.rotated_at.is_(None)).values(rotated_at=now)
                ).rowcount
                replay = won != 1
            if replay:
                self._revoke_grant(conn, row.grant_id, reason="refresh_reused", now=now)
        if replay:
            self.record(
                "refresh_reused",
                owner_id=row.owner_id,
                agent=f"oauth_client:{client_id}",
                success=False,
                client_id=client_id,
                grant_revoked=row.grant_id,
            )
            return None
        return RefreshRecord(
            token_id=row.id,
            grant_id=row.grant_id,
            client_id=row.client_id,
            owner_id=row.owner_id,
            person_id=row.person_id,
            scope=row.scope,
        )

    def resolve_access_token(self, raw: str) -> Principal:
        """The linked principal an access token stands for.

        Raises ``AuthenticationRequired`` for a malformed, unknown, expired or revoked token, or one whose
        grant or client was revoked.
        """
        raw = (raw or "").strip()
        if not raw.startswith(ACCESS_PREFIX) or len(raw) > 100:
            raise AuthenticationRequired("Invalid or expired access token; link the account again.")
        t, g, c = schema.tokens, schema.grants, schema.clients
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(t.c.access_expires_at, g.c.owner_id, g.c.person_id)
                .join(g, g.c.id == t.c.grant_id)
                .join(c, c.c.id == g.c.client_id)
                .where(
                    t.c.access_hash == sha256(raw),
                    t.c.revoked_at.is_(None),
                    g.c.revoked_at.is_(None),
                    c.c.disabled_at.is_(None),
                )
            ).first()
        if row is None or _utc(row.access_expires_at) <= self.now():
            raise AuthenticationRequired("Invalid or expired access token; link the account again.")
        return Principal(owner_id=row.owner_id, person_id=row.person_id, auth=AuthLevel.LINKED)

    # --------------------------------------------------------------------------------------------- links
    def list_links(self, owner_id: str) -> list[LinkRecord]:
        """The owner's active links (approved and redeemed, not revoked), newest first."""
        g, c = schema.grants, schema.clients
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(g, c.c.name.label("client_name"))
                .join(c, c.c.id == g.c.client_id)
                .where(g.c.owner_id == owner_id, g.c.revoked_at.is_(None), g.c.linked_at.is_not(None))
                .order_by(g.c.linked_at.desc(), g.c.id)
            ).all()
        return [
            LinkRecord(
                grant_id=r.id,
                client_id=r.client_id,
                client_name=r.client_name,
                owner_id=r.owner_id,
                person_id=r.person_id,
                scope=r.scope,
                linked_at=_utc(r.linked_at),
                last_used_at=_utc_opt(r.last_used_at),
            )
            for r in rows
        ]

    def unlink(
        self, owner_id: str, grant_id: str, *, agent: str, ip: str | None = None, user_agent: str | None = None
    ) -> None:
        """Revoke one of ``owner_id``'s links (and all its tokens); another owner's link is ``NotFound``."""
        g = schema.grants
        now = self.now()
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(g).where(g.c.id == grant_id, g.c.owner_id == owner_id)).first()
            if row is None:
                raise NotFound("No such linked app on this account.")
            changed = row.revoked_at is None
            if changed:
                self._revoke_grant(conn, grant_id, reason="unlinked", now=now)
        if changed:
            self.record(
                "unlinked",
                owner_id=owner_id,
                agent=agent,
                ip=ip,
                user_agent=user_agent,
                client_id=row.client_id,
                grant_id=grant_id,
            )

    def _revoke_grant(self, conn: Connection, grant_id: str, *, reason: str, now: datetime) -> None:
        g, t = schema.grants, schema.tokens
        conn.execute(
            g.update().where(g.c.id == grant_id, g.c.revoked_at.is_(None)).values(revoked_at=now, revoke_reason=reason)
        )
        conn.execute(t.update().where(t.c.grant_id == grant_id, t.c.revoked_at.is_(None)).values(revoked_at=now))

    # ----------------------------------------------------------------------------------------- housekeeping
    def purge(self, *, older_than: timedelta = timedelta(days=1)) -> int:
        """Delete codes expired more than ``older_than`` ago; returns how many."""
        k = schema.codes
        with self._engine.begin() as conn:
            return int(conn.execute(sa.delete(k).where(k.c.expires_at < self.now() - older_than)).rowcount)
