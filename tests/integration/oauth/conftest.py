"""Fixtures for the account-linking tests: real SQL store, the real app over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import Engine

from gateway.app import create_app
from gateway.bootstrap import build_container
from gateway.identity.records import IdentityPolicy, Person
from gateway.identity.store import SqlOwners
from gateway.oauth.records import NewClient
from gateway.oauth.server import OAuthService
from gateway.settings import Settings
from tests.integration.identity.identity_support import PASSWORD, ListAudit, MutableClock, SmsOutbox, make_store
from tests.integration.oauth.oauth_support import ALEXA_REDIRECT, GOOGLE_REDIRECT, Linker, live_server, make_oauth


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
def audit() -> ListAudit:
    return ListAudit()


@pytest.fixture
def oauth(engine: Engine, clock: MutableClock, audit: ListAudit) -> OAuthService:
    """The service on every backend (store tests)."""
    return make_oauth(engine, clock, audit)


@pytest.fixture
def owners_store(engine: Engine, clock: MutableClock, audit: ListAudit) -> SqlOwners:
    return make_store(engine, clock, audit, SmsOutbox(), IdentityPolicy())


@dataclass
class World:
    """A running app with one owner (owner + staff person) and two registered clients."""

    base_url: str
    app: Flask
    oauth: OAuthService
    owners: SqlOwners
    owner_id: str
    person: Person
    staff: Person
    alexa: NewClient
    google: NewClient

    def linker(self, client: NewClient | None = None, redirect_uri: str | None = None) -> Linker:
        client = client or self.alexa
        return Linker(self.base_url, client.record.id, client.secret, redirect_uri or client.record.redirect_uris[0])


@pytest.fixture
def world(sqlite_engine: Engine, clock: MutableClock, audit: ListAudit, tmp_path: Path) -> Iterator[World]:
    owners = make_store(sqlite_engine, clock, audit, SmsOutbox(), IdentityPolicy())
    service = make_oauth(sqlite_engine, clock, audit)
    owner = owners.create_owner(name="Acme Garden Supplies", plan="ai_assisted", agent="test")
    person = owners.add_person(owner.id, name="Ada Owner", email="ada@acme.test", password=PASSWORD, agent="test")
    staff = owners.add_person(
        owner.id, name="Sam Staff", email="sam@acme.test", role="staff", password=PASSWORD, agent="test"
    )
    alexa = service.store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test")
    google = service.store.add_client(name="Google Assistant", redirect_uris=[GOOGLE_REDIRECT], agent="test")
    container = build_container(Settings(var_dir=tmp_path / "var", env="test"))
    container.owners = owners  # this test's stores (its clock and audit stand-in)
    container.oauth = service
    app = create_app(container=container)
    with live_server(app) as base_url:
        yield World(base_url, app, service, owners, owner.id, person, staff, alexa, google)
    container.close()


@pytest.fixture
def linker(world: World) -> Iterator[Linker]:
    link = world.linker()
    yield link
    link.close()
