"""Tables of the consent store (SQLAlchemy Core, own metadata): the same DDL on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

VERSION = 1
metadata = sa.MetaData()


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; naive UTC on SQLite (so SQL comparisons are exact), timestamptz elsewhere."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the driver, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


consent_requests = sa.Table(
    "consent_requests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(128), nullable=False),
    sa.Column("intent", sa.String(64), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("params_hash", sa.String(64), nullable=False),
    sa.Column("declaration", sa.JSON, nullable=False),
    sa.Column("standing", sa.Boolean, nullable=False, default=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("reply_route", sa.JSON, nullable=False),
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 of the link token
    sa.Column("code_salt", sa.String(32), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),  # HMAC-SHA256(salt + pepper, code)
    sa.Column("code_failures", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),  # of the request (the link and the code)
    sa.Column("decided_at", UtcDateTime, nullable=True),
    sa.Column("grant_expires_at", UtcDateTime, nullable=True),  # of the approved grant; NULL = until revoked
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Index("ix_consent_requests_owner_status", "owner_id", "status"),
)

SCHEMA = ("consent", VERSION, metadata)
