"""Account-linking tables: registered clients, authorization codes, grants (token families) and tokens.

Secrets are never stored: client secrets, codes, access and refresh tokens are kept as SHA-256 of 256-bit
random values (high entropy, so a plain hash is enough; nothing to brute-force). A *grant* is one approval by
one person for one client: it is created when its authorization code is redeemed, and every access/refresh
token issued from that code (and from its refresh chain) belongs to it, so revoking the grant revokes the
whole family (code reuse, refresh-token reuse, the owner unlinking the app).

Owners and people are referenced with ``ON DELETE CASCADE``: deleting an owner or person removes their links.
The identity schema must therefore be created first (``create_schema(engine, [identity SCHEMA, oauth SCHEMA])``).
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.identity import schema as identity

VERSION = 1

metadata = sa.MetaData()

_TS = sa.DateTime(timezone=True)
_OWNER_FK = identity.owners.c.id
_PERSON_FK = identity.people.c.id

clients = sa.Table(
    "oauth_clients",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the public client_id
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("redirect_uris", sa.JSON, nullable=False),  # list of exact strings
    sa.Column("scopes", sa.String(200), nullable=False),  # space-separated scopes it may ask for
    sa.Column("pkce_required", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("disabled_at", _TS, nullable=True),
)

codes = sa.Table(
    "oauth_codes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("client_id", sa.String(64), sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("scope", sa.String(200), nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=True),  # NULL only for a client exempt from PKCE
    sa.Column("code_challenge_method", sa.String(16), nullable=True),
    sa.Column("owner_id", sa.String(64), sa.ForeignKey(_OWNER_FK, ondelete="CASCADE"), nullable=False),
    sa.Column("person_id", sa.String(64), sa.ForeignKey(_PERSON_FK, ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("consumed_at", _TS, nullable=True),
)

grants = sa.Table(
    "oauth_grants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("code_id", sa.String(64), nullable=False, unique=True),  # the code it was redeemed from
    sa.Column("client_id", sa.String(64), sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), nullable=False),
    sa.Column("owner_id", sa.String(64), sa.ForeignKey(_OWNER_FK, ondelete="CASCADE"), nullable=False),
    sa.Column("person_id", sa.String(64), sa.ForeignKey(_PERSON_FK, ondelete="CASCADE"), nullable=False),
    sa.Column("scope", sa.String(200), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("linked_at", _TS, nullable=True),  # first tokens issued (a redeemed code that failed PKCE never is)
    sa.Column("last_used_at", _TS, nullable=True),  # last token issue (refresh)
    sa.Column("revoked_at", _TS, nullable=True),
    sa.Column("revoke_reason", sa.String(32), nullable=True),
    sa.Index("ix_oauth_grants_owner", "owner_id"),
)

tokens = sa.Table(
    "oauth_tokens",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("grant_id", sa.String(64), sa.ForeignKey("oauth_grants.id", ondelete="CASCADE"), nullable=False),
    sa.Column("access_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("refresh_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("access_expires_at", _TS, nullable=False),
    sa.Column("refresh_expires_at", _TS, nullable=True),
    sa.Column("rotated_at", _TS, nullable=True),  # its refresh token was used (once is all it gets)
    sa.Column("revoked_at", _TS, nullable=True),
    sa.Index("ix_oauth_tokens_grant", "grant_id"),
)

SCHEMA = ("oauth", VERSION, metadata)
