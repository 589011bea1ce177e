"""Fixtures for the identity integration tests: a real SQL store on SQLite and PostgreSQL, a Flask app."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from identity_support import ListAudit, MutableClock, SmsOutbox, make_store
from sqlalchemy.engine import Engine

from gateway.identity.blueprint import bp
from gateway.identity.records import IdentityPolicy
from gateway.identity.store import SqlOwners
from gateway.web import configure_sessions, init_web


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
def app(lite_store: SqlOwners) -> Flask:
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.config["TESTING"] = True
    configure_sessions(app, public_url="http://localhost")
    init_web(app)
    app.extensions["omniops"] = SimpleNamespace(owners=lite_store)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c
