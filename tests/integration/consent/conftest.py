"""A real gateway over real HTTP (werkzeug in a thread) with the real consent store, blueprint and bus.

The journal, queue, owners, recipes, notifier and audit log are the fakes from ``tests/fakes.py`` until their
real implementations are merged; the consent store, the schema, the pages, CSRF and the bus are the product's.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Blueprint, Flask
from sqlalchemy.engine import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from core.commands import AuthLevel, Channel, Command, ConfirmationStatus, Principal, ReplyRoute
from core.errors import AuthenticationRequired
from core.handlers import Services
from core.messagebus import MessageBus
from core.ports import ConsentDeclaration, Owner, RecipeInfo
from executor.journal import TokenIds as RandomIds
from gateway.app import create_app
from gateway.blueprints import ops
from gateway.bootstrap import Container
from gateway.consent import blueprint as consent_blueprint
from gateway.consent.schema import SCHEMA
from gateway.consent.store import SqlConsentStore
from gateway.db import create_schema
from gateway.settings import Settings
from tests.fakes import (
    DECL,
    FakeAudit,
    FakeClock,
    FakeConversations,
    FakeIds,
    FakeJournal,
    FakeNotifier,
    FakeOwners,
    FakeQueue,
    FakeRecipes,
    FakeReports,
    FakeVault,
)

OWNER = Owner(id="own_1", name="Acme Coffee", plan="ai_assisted", verified_phones=("+15550001111",))
OTHER = Owner(id="own_2", name="Bolt Bikes", plan="ai_assisted", verified_phones=("+15550002222",))
TOKENS = {"tok-owner-1": OWNER.id, "tok-owner-2": OTHER.id}
WEEKLY = ConsentDeclaration(
    action="Send a weekly sales report",
    service="omniops",
    permissions=("read orders",),
    data_access=("orders",),
    duration="until revoked",
    tier="confirm",
    standing=True,
)
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


@dataclass
class ConsentTestContainer(Container):
    """The lead's container plus what the consent views read (the lead wires the real ones)."""

    bus: Any = None
    consents: Any = None
    audit: Any = None
    resolve_owner_token: Any = None

    def blueprints(self) -> list[Blueprint]:
        return [ops.bp, consent_blueprint.bp]


def resolve_owner_token(raw: str, scope: str) -> Principal:
    """Stand-in for the identity issue's token store: known tokens with the ``consents`` scope."""
    owner_id = TOKENS.get(raw)
    if owner_id is None or scope != "consents":
        raise AuthenticationRequired("Invalid or revoked token.")
    return Principal(owner_id=owner_id, auth=AuthLevel.TOKEN)


@dataclass
class World:
    base_url: str
    app: Flask
    store: SqlConsentStore
    bus: MessageBus
    clock: FakeClock
    audit: FakeAudit
    journal: FakeJournal
    queue: FakeQueue
    notifier: FakeNotifier

    def ask(self, *, channel: Channel = Channel.ALEXA, owner: Owner = OWNER, **kw: Any) -> str:
        """The owner asks by voice and says yes; returns the approval link texted to their phone."""
        fields: dict[str, Any] = {
            "channel": channel,
            "principal": Principal(owner_id=owner.id, auth=AuthLevel.LINKED),
            "intent": "setup_integration",
            "params": {"service": "woocommerce", "store_url": "https://shop.example.com"},
            "reply_route": ReplyRoute(channel=Channel.SMS, to=owner.verified_phones[0]),
            "request_id": "req-1",
            "received_at": self.clock.now(),
            "confirmation": ConfirmationStatus.CONFIRMED,
        }
        fields.update(kw)
        before = len(self.notifier.links)
        self.bus.handle(Command(**fields))
        assert len(self.notifier.links) == before + 1, "no link was texted"
        return self.notifier.links[-1][1]

    def actions(self, action: str) -> list[Any]:
        return [e for e in self.audit.entries if e.action == action]


def build_world(
    engine: Engine, tmp_path: Path, *, public_url: str | None = None, woo_declaration: ConsentDeclaration = DECL
) -> tuple[World, Callable[[], None]]:
    create_schema(engine, [SCHEMA])
    server: BaseWSGIServer = make_server("127.0.0.1", 0, lambda env, start: [], threaded=True)
    base_url = public_url or f"http://127.0.0.1:{server.server_port}"
    clock, ids = FakeClock(), RandomIds()
    store = SqlConsentStore(engine, clock, ids, code_pepper=b"test-pepper")
    audit, journal, queue, notifier = FakeAudit(), FakeJournal(clock, FakeIds()), FakeQueue(), FakeNotifier()
    recipes = {
        "setup_integration:woocommerce": RecipeInfo(
            name="woocommerce_setup", declaration=woo_declaration, required=("store_url",)
        ),
        "schedule_workflow": RecipeInfo(name="workflow", declaration=WEEKLY),
    }
    svc = Services(
        clock=clock,
        ids=ids,
        owners=FakeOwners({OWNER.id: OWNER, OTHER.id: OTHER}),
        consents=store,
        journal=journal,
        queue=queue,
        vault=FakeVault(),
        audit=audit,
        notifier=notifier,
        recipes=FakeRecipes(recipes),
        reports=FakeReports(),
        conversations=FakeConversations(),
        extract_param=lambda intent, param, text, locale: None,
        public_url=base_url,
    )
    bus = MessageBus(services=svc)
    settings = Settings(var_dir=tmp_path, env="test", public_url=base_url)
    container = ConsentTestContainer(
        settings=settings,
        engine=engine,
        secret_key="test-secret-key-" + "x" * 32,
        bus=bus,
        consents=store,
        audit=audit,
        resolve_owner_token=resolve_owner_token,
    )
    app = create_app(container=container)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="consent-test-server", daemon=True)
    thread.start()
    world = World(
        base_url=f"http://127.0.0.1:{server.server_port}",
        app=app,
        store=store,
        bus=bus,
        clock=clock,
        audit=audit,
        journal=journal,
        queue=queue,
        notifier=notifier,
    )

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()

    return world, stop


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[World]:
    w, stop = build_world(sqlite_engine, tmp_path)
    yield w
    stop()


@pytest.fixture
def any_world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    """The same world on SQLite and on PostgreSQL."""
    w, stop = build_world(engine, tmp_path)
    yield w
    stop()


def open_page(client: httpx.Client, link: str) -> tuple[httpx.Response, str]:
    """GET the consent page as a browser would; returns the response and the CSRF value in its form."""
    resp = client.get(link)
    match = CSRF_RE.search(resp.text)
    return resp, match.group(1) if match else ""
