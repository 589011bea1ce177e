"""Fixtures for the vault contract suite: a fully wired vault on every backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.db import create_schema
from vault import schema
from vault.services import VaultServices, build_vault

BuildServices = Callable[..., VaultServices]


@pytest.fixture
def build(engine: Engine, tmp_path: Path) -> BuildServices:
    """Build (another) `VaultServices` over the test engine; same root key file unless told otherwise."""
    create_schema(engine, [schema.SCHEMA])

    def _build(**kw: object) -> VaultServices:
        kw.setdefault("root_key_file", tmp_path / "root-key.json")
        kw.setdefault("create_root_key", True)
        kw.setdefault("checkpoint_every", 10)
        return build_vault(engine, **kw)  # type: ignore[arg-type]

    return _build


@pytest.fixture
def services(build: BuildServices) -> VaultServices:
    return build()


class Attacker:
    """Someone with direct database access: drops the append-only triggers, then runs raw SQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def drop_triggers(self) -> None:
        with self.engine.begin() as conn:
            for trigger, table in schema.trigger_names(self.engine.dialect.name):
                on = "" if self.engine.dialect.name == "sqlite" else f" ON {table}"
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}{on}")

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), params)


@pytest.fixture
def attacker(engine: Engine) -> Attacker:
    return Attacker(engine)
