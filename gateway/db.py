"""SQL engines for every store: SQLite (embedded, WAL) or PostgreSQL (distributed), same SQLAlchemy Core code.

Each package owns its tables in its own ``schema.py`` (``executor.schema``, ``vault.schema``, …) on its own
``MetaData``; `create_schema` creates them all and records each component's schema version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

schema_meta = sa.MetaData()
schema_version = sa.Table(
    "schema_version",
    schema_meta,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build an engine for ``url``. SQLite files get WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_pre_ping=False,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let BEGIN be emitted by SQLAlchemy so transactions are real (pysqlite defers them otherwise).
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; SQLAlchemy's begin listener starts txns
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def create_schema(engine: Engine, components: Iterable[tuple[str, int, sa.MetaData]]) -> None:
    """Create every component's tables (idempotent) and record its schema version."""
    schema_meta.create_all(engine)
    now = dt.datetime.now(dt.UTC)
    for name, version, metadata in components:
        metadata.create_all(engine)
        with engine.begin() as conn:
            row = conn.execute(sa.select(schema_version.c.version).where(schema_version.c.component == name)).first()
            if row is None:
                conn.execute(schema_version.insert().values(component=name, version=version, applied_at=now))
            elif row.version != version:
                conn.execute(
                    schema_version.update()
                    .where(schema_version.c.component == name)
                    .values(version=version, applied_at=now)
                )


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
