"""`SqlConsentStore`: consent requests in SQL (SQLite or PostgreSQL, same code), implementing `ConsentStore`.

Secrets never rest here: the link token is stored as its SHA-256, the 6-digit SMS code as an HMAC keyed by a
per-row salt (plus an optional server pepper). Every state change is one conditional ``UPDATE … WHERE
status = 'pending' AND expires_at > now``, so of any number of concurrent decisions exactly one wins.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from core.commands import Channel, Command, ReplyRoute
from core.consent import params_hash
from core.errors import Conflict, ConsentError, NotFound, RateLimited
from core.ports import Clock, ConsentDeclaration, ConsentRecord, ConsentStatus, Ids, IssuedConsent
from gateway.consent.schema import consent_requests as t

MAX_CODE_FAILURES = 5
DEFAULT_TTL_SECONDS = 15 * 60
DEFAULT_GRANT_TTL_SECONDS = 24 * 3600
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32): 256 bits
_DURATION_RE = re.compile(r"^\s*(\d{1,4})\s*(hour|day|week|month|year)s?\s*$", re.IGNORECASE)
_UNIT_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}
_SECRET_KEYS = frozenset({"code", "sms_code", "token", "link_token"})
_PENDING = ConsentStatus.PENDING.value


def token_hash(raw_token: str) -> str:
    """SHA-256 (hex) of a link token: the only form in which the token is stored."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def looks_like_token(raw_token: str) -> bool:
    """Cheap shape check so malformed tokens are refused before any lookup."""
    return bool(_TOKEN_RE.match(raw_token))


def standing_duration(duration: str) -> timedelta | None:
    """How long a standing grant lasts: ``"90 days"`` → 90 days; ``"until revoked"`` (or anything else) → None."""
    match = _DURATION_RE.match(duration)
    if match is None:
        return None
    return timedelta(days=int(match.group(1)) * _UNIT_DAYS[match.group(2).lower()])


def build_consent_store(
    engine: Engine, *, clock: Clock, ids: Ids, secret_key: str, grant_ttl_seconds: int = DEFAULT_GRANT_TTL_SECONDS
) -> SqlConsentStore:
    """The composition root's one call: the store with an SMS-code pepper derived from the app secret."""
    pepper = hashlib.sha256(b"omniops-consent-code:" + secret_key.encode()).digest()
    return SqlConsentStore(engine, clock, ids, code_pepper=pepper, grant_ttl_seconds=grant_ttl_seconds)


class SqlConsentStore:
    """Consent requests, their one-time link tokens and SMS codes, decisions, and standing grants."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        ids: Ids,
        *,
        code_pepper: bytes = b"",
        grant_ttl_seconds: int = DEFAULT_GRANT_TTL_SECONDS,
        max_code_failures: int = MAX_CODE_FAILURES,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._ids = ids
        self._pepper = code_pepper
        self._grant_ttl = timedelta(seconds=grant_ttl_seconds)
        self._max_failures = max_code_failures

    def __repr__(self) -> str:
        return f"SqlConsentStore(dialect={self._engine.dialect.name!r})"

    # ------------------------------------------------------------------------------------------ create / read
    def create(
        self, *, command: Command, declaration: ConsentDeclaration, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> IssuedConsent:
        """Store a pending request; return it with its link token and SMS code (shown once, stored hashed)."""
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        code = f"{secrets.randbelow(10**6):06d}"
        salt = secrets.token_hex(16)
        values: dict[str, Any] = {
            "id": self._ids.new_id("con"),
            "owner_id": command.principal.owner_id or "",
            "intent": command.intent,
            "params": dict(command.params),
            "params_hash": params_hash(command.intent, command.params, declaration),
            "declaration": declaration.model_dump(mode="json"),
            "standing": declaration.standing,
            "channel": str(command.channel),
            "reply_route": command.reply_route.model_dump(mode="json"),
            "locale": command.locale,
            "status": _PENDING,
            "token_hash": token_hash(token),
            "code_salt": salt,
            "code_hash": self._code_digest(salt, code),
            "code_failures": 0,
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds),
            "evidence": {},
        }
        with self._engine.begin() as conn:
            conn.execute(t.insert().values(**values))
            record = _record(conn.execute(sa.select(t).where(t.c.id == values["id"])).one())
        return IssuedConsent(record=record, link_token=token, sms_code=code)

    def get(self, consent_id: str) -> ConsentRecord | None:
        """The request; a pending one past its expiry is marked expired (persisted) and read as such."""
        return self._read(t.c.id == consent_id)

    def get_by_token(self, raw_token: str) -> ConsentRecord | None:
        """The request a link token opens (by its hash), or None for a malformed or unknown token."""
        if not looks_like_token(raw_token):
            return None
        return self._read(t.c.token_hash == token_hash(raw_token))

    def latest_pending(self, owner_id: str) -> ConsentRecord | None:
        """The owner's newest request still pending and unexpired."""
        self._expire_due(owner_id)
        query = (
            sa.select(t)
            .where(t.c.owner_id == owner_id, t.c.status == _PENDING)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _record(row) if row is not None else None

    def list_standing(self, owner_id: str) -> Sequence[ConsentRecord]:
        """The owner's approved standing grants that have not been revoked or run out, newest first."""
        now = self._clock.now()
        query = (
            sa.select(t)
            .where(
                t.c.owner_id == owner_id,
                t.c.standing.is_(True),
                t.c.status == ConsentStatus.APPROVED.value,
                sa.or_(t.c.grant_expires_at.is_(None), t.c.grant_expires_at > now),
            )
            .order_by(t.c.decided_at.desc(), t.c.id.desc())
        )
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    # ------------------------------------------------------------------------------------------ decisions
    def decide(self, consent_id: str, *, approve: bool, evidence: Mapping[str, Any]) -> ConsentRecord:
        """Atomically move a pending, unexpired request to approved/denied.

        Raises ``NotFound`` for an unknown id and ``Conflict`` when it was already decided or has expired.
        """
        with self._engine.begin() as conn:
            won = self._decide_row(conn, consent_id, approve=approve, evidence=evidence, code_used=False)
        record = self.get(consent_id)
        if record is None:
            raise NotFound("No such consent request.")
        if not won:
            raise Conflict(f"This request is already {record.status.value}.", consent_status=record.status.value)
        return record

    def decide_by_code(self, owner_id: str, code: str, *, evidence: Mapping[str, Any]) -> ConsentRecord:
        """Approve the owner's pending request whose SMS code is ``code``: single-use and rate-limited.

        Every wrong code counts against each of the owner's open requests; a request with
        ``max_code_failures`` wrong codes accepts none any more (``RateLimited``) until it expires.
        """
        now = self._clock.now()
        outcome: str
        winner: str | None = None
        retry_after = 0.0
        with self._engine.begin() as conn:
            rows = conn.execute(
                sa.select(t)
                .where(t.c.owner_id == owner_id, t.c.status == _PENDING, t.c.expires_at > now)
                # Serializes code attempts per owner on PostgreSQL; SQLite's BEGIN IMMEDIATE already does.
                .with_for_update()
            ).all()
            open_rows = [r for r in rows if r.code_failures < self._max_failures]
            match = next((r for r in open_rows if self._code_matches(r, code)), None)
            if not rows:
                outcome = "none"
            elif not open_rows:
                outcome = "limited"
                retry_after = min((r.expires_at - now).total_seconds() for r in rows)
            elif match is None:
                outcome = "wrong"
                conn.execute(
                    t.update().where(t.c.id.in_([r.id for r in open_rows])).values(code_failures=t.c.code_failures + 1)
                )
            else:
                won = self._decide_row(conn, match.id, approve=True, evidence=evidence, code_used=True)
                outcome, winner = ("won", match.id) if won else ("lost", None)
        if outcome == "limited":
            raise RateLimited("Too many wrong codes. Ask again for a new code.", retry_after=retry_after)
        if outcome == "lost":
            raise Conflict("This request was already decided.")
        if winner is None:
            raise NotFound("That code is not valid or was already used.")
        record = self.get(winner)
        if record is None:
            raise NotFound("No such consent request.")
        return record

    def _decide_row(
        self, conn: Connection, consent_id: str, *, approve: bool, evidence: Mapping[str, Any], code_used: bool
    ) -> bool:
        now = self._clock.now()
        row = conn.execute(sa.select(t.c.standing, t.c.declaration).where(t.c.id == consent_id)).first()
        if row is None:
            return False
        grant_end: datetime | None = None
        if approve:
            lasting = standing_duration(str(row.declaration.get("duration", ""))) if row.standing else self._grant_ttl
            grant_end = now + lasting if lasting is not None else None
        stored = {k: v for k, v in evidence.items() if k not in _SECRET_KEYS}
        stored.update(code_used=code_used, decided_at=now.isoformat())
        if isinstance(stored.get("user_agent"), str):
            stored["user_agent"] = stored["user_agent"][:512]
        result = conn.execute(
            t.update()
            .where(t.c.id == consent_id, t.c.status == _PENDING, t.c.expires_at > now)
            .values(
                status=(ConsentStatus.APPROVED if approve else ConsentStatus.DENIED).value,
                decided_at=now,
                grant_expires_at=grant_end,
                evidence=stored,
            )
        )
        return result.rowcount == 1

    # ------------------------------------------------------------------------------------------ grants
    def check_grant(self, consent_id: str, *, owner_id: str, params_hash: str) -> ConsentRecord:
        """The grant if approved, unexpired (standing grants: until their duration ends), unrevoked and matching.

        Raises ``ConsentError`` whose ``reason`` says exactly what is wrong: ``missing``, ``wrong_owner``,
        ``not_approved``, ``denied``, ``revoked``, ``expired`` or ``params_mismatch``.
        """
        record = self.get(consent_id)
        if record is None:
            raise ConsentError("No consent was given for this run.", reason="missing")
        if record.owner_id != owner_id:
            raise ConsentError("This consent belongs to another account.", reason="wrong_owner")
        if record.status is ConsentStatus.REVOKED:
            raise ConsentError("The owner revoked this consent.", reason="revoked")
        if record.status is ConsentStatus.DENIED:
            raise ConsentError("The owner declined this request.", reason="denied")
        if record.status is ConsentStatus.EXPIRED:
            raise ConsentError("The consent request expired before it was approved.", reason="expired")
        if record.status is not ConsentStatus.APPROVED:
            raise ConsentError("This request has not been approved yet.", reason="not_approved")
        if record.grant_expires_at is not None and record.grant_expires_at <= self._clock.now():
            raise ConsentError("This consent has run out; ask the owner again.", reason="expired")
        if not hmac.compare_digest(record.params_hash, params_hash):
            raise ConsentError("The run differs from what the owner approved.", reason="params_mismatch")
        return record

    def revoke(self, consent_id: str, owner_id: str) -> ConsentRecord:
        """Revoke the owner's approved grant so no future run can use it.

        Raises ``NotFound`` for an unknown id or another owner's grant, ``Conflict`` if it is not approved.
        """
        now = self._clock.now()
        with self._engine.begin() as conn:
            result = conn.execute(
                t.update()
                .where(
                    t.c.id == consent_id,
                    t.c.owner_id == owner_id,
                    t.c.status == ConsentStatus.APPROVED.value,
                )
                .values(status=ConsentStatus.REVOKED.value, revoked_at=now)
            )
        record = self.get(consent_id)
        if record is None or record.owner_id != owner_id:
            raise NotFound("No such consent.")
        if result.rowcount != 1:
            raise Conflict(f"Only an approved consent can be revoked; this one is {record.status.value}.")
        return record

    # ------------------------------------------------------------------------------------------ helpers
    def _read(self, where: sa.ColumnElement[bool]) -> ConsentRecord | None:
        now = self._clock.now()
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(t).where(where)).first()
            if row is not None and row.status == _PENDING and row.expires_at <= now:
                conn.execute(
                    t.update()
                    .where(t.c.id == row.id, t.c.status == _PENDING, t.c.expires_at <= now)
                    .values(status=ConsentStatus.EXPIRED.value)
                )
                row = conn.execute(sa.select(t).where(t.c.id == row.id)).one()
        return _record(row) if row is not None else None

    def _expire_due(self, owner_id: str) -> None:
        now = self._clock.now()
        with self._engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.owner_id == owner_id, t.c.status == _PENDING, t.c.expires_at <= now)
                .values(status=ConsentStatus.EXPIRED.value)
            )

    def _code_digest(self, salt: str, code: str) -> str:
        return hmac.new(bytes.fromhex(salt) + self._pepper, code.encode(), hashlib.sha256).hexdigest()

    def _code_matches(self, row: Row[Any], code: str) -> bool:
        return hmac.compare_digest(self._code_digest(row.code_salt, code.strip()), row.code_hash)


def _record(row: Row[Any]) -> ConsentRecord:
    return ConsentRecord(
        id=row.id,
        owner_id=row.owner_id,
        intent=row.intent,
        params=dict(row.params),
        params_hash=row.params_hash,
        declaration=ConsentDeclaration.model_validate(row.declaration),
        channel=Channel(row.channel),
        reply_route=ReplyRoute.model_validate(row.reply_route),
        locale=row.locale,
        status=ConsentStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        decided_at=row.decided_at,
        grant_expires_at=row.grant_expires_at,
        revoked_at=row.revoked_at,
        evidence=dict(row.evidence or {}),
    )
