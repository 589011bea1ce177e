"""`OAuthStore`: clients, authorization codes, grants and tokens in SQL (SQLite or PostgreSQL, SQLAlchemy Core).

Every single-use rule is enforced by one conditional ``UPDATE … WHERE consumed_at IS NULL`` (or
``rotated_at IS NULL``) whose row count decides, so two racing requests can never both win, on either backend.
Detected replays revoke the whole grant (token family), per RFC 6749 §4.1.2 / RFC 9700 §4.14:

* a code redeemed twice: the second attempt fails and every token issued from the first is revoked;
* a rotated refresh token presented again: it fails and the family is revoked.

Nothing here knows about HTTP or Authlib; :mod:`gateway.oauth.server` adapts these records to Authlib.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from core.commands import AuthLevel, Principal
from core.errors import AuthenticationRequired, NotFound
from gateway.oauth import schema
from gateway.oauth.clients import ClientBook
from gateway.oauth.records import ACCESS_PREFIX, CodeRecord, LinkRecord, RefreshRecord, sha256, utc, utc_opt


class OAuthStore(ClientBook):
    """Clients (from :class:`ClientBook`), codes, grants and tokens; every link, unlink and token issue audited.

    ``OAuthStore(engine, clock, ids, audit, policy=OAuthPolicy())``.
    """

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
                if row.refresh_expires_at is None or utc(row.refresh_expires_at) <= now:
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
        if row is None or utc(row.access_expires_at) <= self.now():
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
                linked_at=utc(r.linked_at),
                last_used_at=utc_opt(r.last_used_at),
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

    # ----------------------------------------------------------------------------------------- housekeeping
    def purge(self, *, older_than: timedelta = timedelta(days=1)) -> int:
        """Delete codes expired more than ``older_than`` ago; returns how many."""
        k = schema.codes
        with self._engine.begin() as conn:
            return int(conn.execute(sa.delete(k).where(k.c.expires_at < self.now() - older_than)).rowcount)
