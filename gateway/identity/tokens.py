"""Owner API tokens (Siri Shortcuts, owner scripts): random, shown once, stored as SHA-256, scoped, revocable."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from core.commands import AuthLevel, Principal
from core.errors import AuthenticationRequired, Forbidden, InputError, NotFound
from gateway.identity import schema
from gateway.identity.base import Deps, sha256, utc, utc_opt
from gateway.identity.records import IssuedToken, Scope, TokenRecord

PREFIX = "oo_"
_RAW = re.compile(r"^oo_[A-Za-z0-9_-]{43}$")  # token_urlsafe(32) is 43 characters


def new_raw_token() -> str:
    """``oo_`` + 256 random bits, URL-safe."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(raw: str) -> str:
    return sha256(raw)


def looks_like_token(raw: str) -> bool:
    """Cheap shape check before any database work."""
    return bool(_RAW.match(raw))


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Validate scope names (``siri``, ``runs:read``, ``chat``), de-duplicated, in declaration order."""
    wanted = {v.strip() for v in values if v.strip()}
    unknown = wanted - {s.value for s in Scope}
    if unknown:
        raise InputError(f"Unknown scope(s): {', '.join(sorted(unknown))}. Known: {', '.join(s.value for s in Scope)}.")
    if not wanted:
        raise InputError("A token needs at least one scope.")
    return tuple(s for s in Scope if s.value in wanted)


def row_to_token(row: Any) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        owner_id=row.owner_id,
        person_id=row.person_id,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(Scope(s) for s in row.scopes.split()),
        created_at=utc(row.created_at),
        last_used_at=utc_opt(row.last_used_at),
        revoked_at=utc_opt(row.revoked_at),
    )


class TokenBook:
    """The token half of :class:`~gateway.identity.store.SqlOwners`."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    def create(
        self, owner_id: str, *, name: str, scopes: Iterable[str], person_id: str | None = None, agent: str
    ) -> IssuedToken:
        """Issue a token; the raw value is in the result only."""
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise InputError("A token needs a name of at most 100 characters.")
        scope_set = parse_scopes(scopes)
        raw = new_raw_token()
        token_id = self._d.ids.new_id("tok")
        now = self._d.now()
        t = schema.tokens
        with self._d.engine.begin() as conn:
            if conn.execute(sa.select(schema.owners.c.id).where(schema.owners.c.id == owner_id)).first() is None:
                raise NotFound("No such owner.")
            conn.execute(
                t.insert().values(
                    id=token_id,
                    owner_id=owner_id,
                    person_id=person_id,
                    name=name,
                    token_hash=hash_token(raw),
                    prefix=raw[:7],
                    scopes=" ".join(s.value for s in scope_set),
                    created_at=now,
                )
            )
            row = conn.execute(sa.select(t).where(t.c.id == token_id)).one()
        self._d.record(
            "token_created",
            owner_id=owner_id,
            agent=agent,
            token_id=token_id,
            name=name,
            scopes=[s.value for s in scope_set],
        )
        return IssuedToken(record=row_to_token(row), raw=raw)

    def list(self, owner_id: str, *, include_revoked: bool = True) -> list[TokenRecord]:
        t = schema.tokens
        query = sa.select(t).where(t.c.owner_id == owner_id)
        if not include_revoked:
            query = query.where(t.c.revoked_at.is_(None))
        with self._d.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.created_at, t.c.id)).all()
        return [row_to_token(r) for r in rows]

    def revoke(self, owner_id: str, token_id: str, *, agent: str) -> TokenRecord:
        """Revoke ``token_id`` of ``owner_id`` (idempotent); another owner's token is ``NotFound``."""
        t = schema.tokens
        now = self._d.now()
        with self._d.engine.begin() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == token_id, t.c.owner_id == owner_id)).first()
            if row is None:
                raise NotFound("No such token on this account.")
            changed = row.revoked_at is None
            if changed:
                conn.execute(t.update().where(t.c.id == token_id).values(revoked_at=now))
            row = conn.execute(sa.select(t).where(t.c.id == token_id)).one()
        if changed:
            self._d.record("token_revoked", owner_id=owner_id, agent=agent, token_id=token_id, name=row.name)
        return row_to_token(row)

    def resolve(self, raw: str, scope: str) -> Principal:
        """The principal a bearer token stands for.

        Raises ``AuthenticationRequired`` for a malformed, unknown or revoked token and ``Forbidden`` when the
        token lacks ``scope``. Touches ``last_used_at`` (at most once a minute, to spare the database).
        """
        raw = raw.strip()
        if not looks_like_token(raw):
            raise AuthenticationRequired("Invalid or revoked token.")
        t = schema.tokens
        with self._d.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.token_hash == hash_token(raw))).first()
        if row is None or row.revoked_at is not None:
            raise AuthenticationRequired("Invalid or revoked token.")
        if scope not in row.scopes.split():
            raise Forbidden(f"This token may not be used for {scope!r}.")
        now = self._d.now()
        stale = now - timedelta(seconds=self._d.policy.token_touch_seconds)
        with self._d.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.id == row.id, sa.or_(t.c.last_used_at.is_(None), t.c.last_used_at < stale))
                .values(last_used_at=now)
            )
        return Principal(owner_id=row.owner_id, person_id=row.person_id, auth=AuthLevel.TOKEN)
