"""Fixtures for the identity integration tests: a real SQL store on SQLite and PostgreSQL, a Flask app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from gateway.app import create_app
from gateway.bootstrap import build_container
from gateway.identity.records import IdentityPolicy
from gateway.identity.store import SqlOwners
from gateway.settings import Settings
from tests.integration.identity.identity_support import ListAudit, MutableClock, SmsOutbox, make_store


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def audit() -> ListAudit:
    return ListAudit()


@pytest.fixture
def sms() -> SmsOutbox:
    return SmsOutbox()


@pytest.fixture
def policy() -> IdentityPolicy:
    return IdentityPolicy()


@pytest.fixture
def store(engine: Engine, clock: MutableClock, audit: ListAudit, sms: SmsOutbox, policy: IdentityPolicy) -> SqlOwners:
    """The store on every backend."""
    return make_store(engine, clock, audit, sms, policy)


@pytest.fixture
def lite_store(
    sqlite_engine: Engine, clock: MutableClock, audit: ListAudit, sms: SmsOutbox, policy: IdentityPolicy
) -> SqlOwners:
    """The store on SQLite only (for web tests, where the backend is not what is tested)."""
    return make_store(sqlite_engine, clock, audit, sms, policy)


@pytest.fixture
def app(lite_store: SqlOwners, tmp_path: Path) -> Iterator[Flask]:
    """The real app factory, with the identity store and blueprint wired the way bootstrap will wire them."""
    container = build_container(Settings(var_dir=tmp_path / "var", env="test"))
    container.owners = lite_store  # this test's store (its clock, audit and SMS outbox)
    app = create_app(container=container)
    app.config["TESTING"] = True
    yield app
    container.close()


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c
