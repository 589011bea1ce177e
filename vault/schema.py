"""Vault and audit tables (SQLAlchemy Core) plus the append-only triggers.

``SCHEMA`` is what ``gateway.db.create_schema`` takes; :func:`install` must run after ``create_all`` (it is
idempotent) to add the triggers that refuse UPDATE, DELETE and TRUNCATE on the audit tables, on SQLite and
PostgreSQL alike.

Nothing here holds a secret in the clear: owner keysets and system keys are Tink-wrapped under the root key,
credentials are AEAD ciphertexts, and the audit rows' personal fields (IP, user agent) are ciphertexts under the
owner's keyset so that destroying the keyset erases them while the chain (computed over the stored bytes) still
verifies.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

SCHEMA_VERSION = 1

metadata = sa.MetaData()

# One row per root key version: the Tink key id inside the root keyset file that wraps everything below.
root_keys = sa.Table(
    "vault_root_keys",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# One Tink AES256_GCM keyset per owner, wrapped by the root key (associated data ``keyset:<owner_id>``).
owner_keys = sa.Table(
    "vault_owner_keys",
    metadata,
    sa.Column("owner_id", sa.String(128), primary_key=True),
    sa.Column("keyset", sa.LargeBinary, nullable=False),
    sa.Column("root_key_id", sa.BigInteger, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
)

# Keys the audit log needs (chain HMAC key, owner-reference key, Ed25519 signing key), wrapped by the root key.
system_keys = sa.Table(
    "vault_system_keys",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("public", sa.LargeBinary, nullable=True),
    sa.Column("root_key_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

credentials = sa.Table(
    "vault_credentials",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(128), nullable=False, index=True),
    sa.Column("service", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("meta", sa.JSON, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=True),  # NULL once deleted
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),  # provider-side expiry, if any
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(40), nullable=False, unique=True),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("owner_ref", sa.String(64), nullable=True, index=True),  # keyed HMAC of the owner id
    sa.Column("action", sa.String(120), nullable=False),
    sa.Column("phase", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # canonical JSON of the non-personal fields
    sa.Column("pii", sa.LargeBinary, nullable=True),  # AEAD(owner keyset, {ip_address, user_agent})
    sa.Column("prev_mac", sa.String(64), nullable=False),
    sa.Column("mac", sa.String(64), nullable=False),
)

# The lock row appends serialize on, and the running chain head (verify cross-checks it).
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("mac", sa.String(64), nullable=False),
    sa.Column("checkpoint_seq", sa.BigInteger, nullable=False),
    sa.Column("checkpoint_at", sa.String(40), nullable=False),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("head_mac", sa.String(64), nullable=False),
    sa.Column("ts", sa.String(40), nullable=False),
    sa.Column("prev_signature", sa.String(200), nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(200), nullable=False),
)

SCHEMA = ("vault", SCHEMA_VERSION, metadata)

APPEND_ONLY_TABLES = ("audit_events", "audit_checkpoints")


def _sqlite_statements() -> list[str]:
    out: list[str] = []
    for table in APPEND_ONLY_TABLES:
        for op in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    return out


def _postgres_statements() -> list[str]:
    out = [
        "SELECT pg_advisory_xact_lock(7310420001)",  # serialize installs from gateways starting together
        "CREATE OR REPLACE FUNCTION omniops_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$",
    ]
    for table in APPEND_ONLY_TABLES:
        out += [
            f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION omniops_append_only()",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION omniops_append_only()",
        ]
    return out


def trigger_names(dialect: str) -> list[tuple[str, str]]:
    """(trigger, table) pairs :func:`install` creates; tests use them to play an attacker who drops them."""
    if dialect == "sqlite":
        return [(f"{t}_no_{op}", t) for t in APPEND_ONLY_TABLES for op in ("update", "delete")]
    return [(f"{t}_{kind}", t) for t in APPEND_ONLY_TABLES for kind in ("no_change", "no_truncate")]


def install(engine: Engine) -> None:
    """Create the append-only triggers (idempotent). Call after ``create_schema``."""
    statements = _sqlite_statements() if engine.dialect.name == "sqlite" else _postgres_statements()
    with engine.begin() as conn:
        for stmt in statements:
            conn.execute(sa.text(stmt))
