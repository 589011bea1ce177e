"""Contract of the Conversations port on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from core.ports import Conversation
from gateway.db import create_schema
from gateway.stores.conversations import SCHEMA, SqlConversations
from tests.fakes import FakeClock


def test_put_get_replace_clear_and_expiry(engine: Engine) -> None:
    create_schema(engine, [SCHEMA])
    clock = FakeClock()
    store = SqlConversations(engine, clock=clock)
    conv = Conversation(
        key="widget:s1",
        intent="setup_integration",
        params={"service": "woocommerce"},
        awaiting="store_url",
        expires_at=clock.now() + timedelta(minutes=10),
    )
    assert store.get("widget:s1") is None
    store.put(conv)
    assert store.get("widget:s1") == conv
    store.put(conv.model_copy(update={"awaiting": "confirm", "consent_id": "con_1"}))
    got = store.get("widget:s1")
    assert got is not None and got.awaiting == "confirm" and got.consent_id == "con_1"
    clock.advance(601)
    assert store.get("widget:s1") is None
    store.put(conv.model_copy(update={"key": "sms:+1", "expires_at": clock.now() + timedelta(minutes=1)}))
    store.clear("sms:+1")
    assert store.get("sms:+1") is None
