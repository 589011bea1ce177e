"""Identity tables: owners (businesses), people, phones, API tokens, login sessions, codes and rate events.

Secrets are never stored: passwords as argon2 hashes, tokens/session ids as SHA-256, SMS codes as salted
SHA-256 that expire within minutes. ``phones.verified_number`` is unique, so a phone number belongs to at most
one owner once verified, enforced by the database even under races.
"""

from __future__ import annotations

import sqlalchemy as sa

VERSION = 1

metadata = sa.MetaData()

_TS = sa.DateTime(timezone=True)

owners = sa.Table(
    "identity_owners",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("addons", sa.String(200), nullable=False, default=""),  # space-separated
    sa.Column("locale", sa.String(16), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

people = sa.Table(
    "identity_people",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(64), sa.ForeignKey("identity_owners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),  # lower-cased
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=True),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", _TS, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Index("ix_identity_people_owner", "owner_id"),
)

phones = sa.Table(
    "identity_phones",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(64), sa.ForeignKey("identity_owners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("person_id", sa.String(64), sa.ForeignKey("identity_people.id", ondelete="SET NULL"), nullable=True),
    sa.Column("number", sa.String(20), nullable=False),  # E.164
    sa.Column("verified_number", sa.String(20), nullable=True, unique=True),  # set once verified
    sa.Column("verified_at", _TS, nullable=True),
    sa.Column("code_hash", sa.String(64), nullable=True),
    sa.Column("code_expires_at", _TS, nullable=True),
    sa.Column("code_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("owner_id", "number", name="uq_identity_phones_owner_number"),
)

tokens = sa.Table(
    "identity_tokens",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(64), sa.ForeignKey("identity_owners.id", ondelete="CASCADE"), nullable=False),
    sa.Column("person_id", sa.String(64), sa.ForeignKey("identity_people.id", ondelete="SET NULL"), nullable=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),  # first characters, to recognise a token in a list
    sa.Column("scopes", sa.String(200), nullable=False),  # space-separated
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("last_used_at", _TS, nullable=True),
    sa.Column("revoked_at", _TS, nullable=True),
    sa.Index("ix_identity_tokens_owner", "owner_id"),
)

sessions = sa.Table(
    "identity_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("sid_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("person_id", sa.String(64), sa.ForeignKey("identity_people.id", ondelete="CASCADE"), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),  # password | sms
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("ended_at", _TS, nullable=True),
    sa.Column("ip_address", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(300), nullable=True),
)

login_codes = sa.Table(
    "identity_login_codes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("person_id", sa.String(64), sa.ForeignKey("identity_people.id", ondelete="CASCADE"), nullable=True),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("consumed_at", _TS, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
)

rate_events = sa.Table(
    "identity_rate_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Index("ix_identity_rate_events_key_at", "key", "at"),
)

SCHEMA = ("identity", VERSION, metadata)
