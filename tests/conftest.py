"""Shared fixtures: real SQLite, real PostgreSQL, real Redis.

PostgreSQL and Redis tests use the servers named by ``OMNIOPS_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and ``OMNIOPS_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/15``), each test in its own PostgreSQL schema / Redis key prefix. When a server is
missing they fail under CI (``CI=true``) and skip, loudly, elsewhere.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.db import make_engine

PG_URL = os.environ.get("OMNIOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OMNIOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str, err: Exception) -> None:
    msg = f"{what} is not reachable ({type(err).__name__}: {err})"
    if IN_CI:
        pytest.fail(msg + " — CI must provide it (.ci/run starts it)", pytrace=False)
    pytest.skip(msg + " — start it to run this test")


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine]:
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_size=2)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as err:
        _missing("PostgreSQL", err)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(pg_admin_engine: Engine) -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped (with everything in it) after the test."""
    schema = f"t_{secrets.token_hex(6)}"
    with pg_admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with pg_admin_engine.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def pg_engine(pg_schema: str) -> Iterator[Engine]:
    """A real PostgreSQL engine whose search_path is a fresh schema, dropped after the test."""
    engine = sa.create_engine(
        PG_URL, connect_args={"options": f"-csearch_path={pg_schema}"}, pool_size=5, max_overflow=20
    )
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url_schema(pg_engine: Engine, pg_schema: str) -> str:
    """The schema name of ``pg_engine`` (for code that builds its own engines from a URL)."""
    return pg_schema


@pytest.fixture
def pg_schema_url(pg_schema: str) -> str:
    """A database URL whose search_path is the test's fresh schema (for code that builds its own engine)."""
    return f"{PG_URL}?options=-csearch_path%3D{pg_schema}"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'omniops.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Every backend: the same contract test runs on real SQLite and real PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as err:
        _missing("Redis", err)
    yield REDIS_URL
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A unique key prefix; every key under it is deleted after the test."""
    import redis

    prefix = f"omniops-test-{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
