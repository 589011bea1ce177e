"""What every part of the identity store shares: dependencies, time, audit and rate-limit helpers."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.audit import audit_entry
from core.errors import ConfigurationError, RateLimited
from core.ports import AuditLog, Clock, Ids
from gateway.identity import schema
from gateway.identity.passwords import Passwords
from gateway.identity.records import IdentityPolicy

SendSms = Callable[[str, str], None]


@dataclass(frozen=True, kw_only=True)
class Deps:
    engine: Engine
    clock: Clock
    ids: Ids
    audit: AuditLog
    passwords: Passwords
    policy: IdentityPolicy
    send_sms: SendSms | None = None

    def now(self) -> datetime:
        return utc(self.clock.now())

    def sms(self, to: str, body: str) -> None:
        if self.send_sms is None:
            raise ConfigurationError("SMS sending is not configured (Twilio settings missing)")
        self.send_sms(to, body)

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
        """Append one identity audit entry (detail must never hold secrets)."""
        self.audit.append(
            audit_entry(
                f"identity.{action}",
                owner_id=owner_id,
                agent=agent,
                success=success,
                ip=ip,
                user_agent=user_agent,
                **detail,
            )
        )


def utc(value: datetime) -> datetime:
    """Aware UTC (SQLite hands back naive datetimes)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_code() -> str:
    """A uniformly random 6-digit code."""
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(salt: str, code: str) -> str:
    """Salted hash of a short-lived code (the salt is the row id, so equal codes hash differently)."""
    return sha256(f"{salt}:{code.strip()}")


def codes_match(stored_hash: str | None, salt: str, code: str) -> bool:
    if stored_hash is None:
        return False
    return secrets.compare_digest(stored_hash, code_hash(salt, code))


def hit_rate_limit(conn: Connection, deps: Deps, *, key: str, limit: int, window: timedelta, what: str) -> None:
    """Record one event under ``key``; raise ``RateLimited`` if the window already holds ``limit`` events."""
    now = deps.now()
    since = now - window
    count = conn.execute(
        sa.select(sa.func.count())
        .select_from(schema.rate_events)
        .where(schema.rate_events.c.key == key, schema.rate_events.c.at > since)
    ).scalar_one()
    if count >= limit:
        raise RateLimited(f"Too many {what}; please try again later.", retry_after=window.total_seconds())
    conn.execute(schema.rate_events.insert().values(key=key, at=now))
    # keep the table small: old events under this key are useless
    conn.execute(sa.delete(schema.rate_events).where(schema.rate_events.c.key == key, schema.rate_events.c.at <= since))
