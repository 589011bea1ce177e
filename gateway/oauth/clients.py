"""Registered clients (Alexa, Google): add, look up, check secrets, disable; the base of :class:`OAuthStore`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.audit import audit_entry
from core.errors import Conflict, InputError, NotFound
from core.ports import AuditLog, Clock, Ids
from gateway.oauth import schema
from gateway.oauth.records import (
    DEFAULT_SCOPES,
    SCOPES,
    SECRET_PREFIX,
    ClientRecord,
    NewClient,
    OAuthPolicy,
    new_secret,
    row_to_client,
    sha256,
    utc,
    validate_redirect_uri,
)


class ClientBook:
    """Dependencies, audit and client management shared by :class:`~gateway.oauth.store.OAuthStore`."""

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
        return utc(self._clock.now())

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
            audit_entry(
                f"oauth.{action}",
                owner_id=owner_id,
                agent=agent,
                success=success,
                ip=ip,
                user_agent=user_agent,
                **detail,
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
        return NewClient(record=row_to_client(row), secret=secret)

    def get_client(self, client_id: str) -> ClientRecord | None:
        """An active client by id, or None (unknown or disabled)."""
        if not client_id or len(client_id) > 64:
            return None
        c = schema.clients
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(c).where(c.c.id == client_id, c.c.disabled_at.is_(None))).first()
        return None if row is None else row_to_client(row)

    def list_clients(self) -> list[ClientRecord]:
        c = schema.clients
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(c).order_by(c.c.created_at, c.c.id)).all()
        return [row_to_client(r) for r in rows]

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
            revoked = conn.execute(
                sa.select(g.c.id, g.c.owner_id).where(g.c.client_id == client_id, g.c.revoked_at.is_(None))
            ).all()
            for grant in revoked:
                self._revoke_grant(conn, grant.id, reason="client_disabled", now=now)
            row = conn.execute(sa.select(c).where(c.c.id == client_id)).one()
        self.record("client_disabled", owner_id=None, agent=agent, client_id=client_id, grants_revoked=len(revoked))
        for grant in revoked:  # each owner's audit trail shows the unlink too
            self.record(
                "unlinked",
                owner_id=grant.owner_id,
                agent=agent,
                client_id=client_id,
                grant_id=grant.id,
                reason="client_disabled",
            )
        return row_to_client(row)

    def _revoke_grant(self, conn: Connection, grant_id: str, *, reason: str, now: datetime) -> None:
        g, t = schema.grants, schema.tokens
        conn.execute(
            g.update().where(g.c.id == grant_id, g.c.revoked_at.is_(None)).values(revoked_at=now, revoke_reason=reason)
        )
        conn.execute(t.update().where(t.c.grant_id == grant_id, t.c.revoked_at.is_(None)).values(revoked_at=now))
