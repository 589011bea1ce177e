"""Composition helper for the gateway's bootstrap: one call builds the vault, the audit log and privacy."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core.ports import Ids
from vault import schema
from vault.audit import SqlAuditLog
from vault.credentials import DEFAULT_ROTATION_DAYS, CredentialVault
from vault.crypto import RootKey
from vault.keyring import KeyRing
from vault.privacy import Privacy


@dataclass(frozen=True)
class VaultServices:
    engine: Engine
    keyring: KeyRing
    audit: SqlAuditLog
    vault: CredentialVault
    privacy: Privacy


def build_vault(
    engine: Engine,
    *,
    root_key_file: str | os.PathLike[str],
    create_root_key: bool = False,
    rotation_days: int = DEFAULT_ROTATION_DAYS,
    checkpoint_every: int = 1000,
    checkpoint_interval_seconds: float = 3600.0,
    ids: Ids | None = None,
) -> VaultServices:
    """Load the root key (generate it only when ``create_root_key``, i.e. embedded mode), install the audit
    triggers and wire everything. Call after ``gateway.db.create_schema(engine, [..., vault.schema.SCHEMA])``."""
    schema.install(engine)
    keyring = KeyRing(engine, RootKey.load(root_key_file, create_if_missing=create_root_key))
    keyring.register_root()
    audit = SqlAuditLog(
        engine,
        keyring=keyring,
        checkpoint_every=checkpoint_every,
        checkpoint_interval_seconds=checkpoint_interval_seconds,
    )
    vault = CredentialVault(engine, keyring=keyring, audit=audit, ids=ids, rotation_days=rotation_days)
    return VaultServices(engine, keyring, audit, vault, Privacy(vault=vault, audit=audit))
