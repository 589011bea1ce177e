"""Pending questions of a conversation (a missing param or a yes/no), in SQL so any gateway process can answer."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.ports import Clock, Conversation

metadata = sa.MetaData()
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)
SCHEMA = ("conversations", 1, metadata)


class SqlConversations:
    """`core.ports.Conversations` over SQLAlchemy Core; expired rows read as absent and are swept on write."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def get(self, key: str) -> Conversation | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(conversations.c.body).where(conversations.c.key == key)).first()
        if row is None:
            return None
        conv = Conversation.model_validate(json.loads(row.body))
        return conv if conv.expires_at > self._clock.now() else None

    def put(self, conversation: Conversation) -> None:
        body = conversation.model_dump_json()
        with self._engine.begin() as conn:
            conn.execute(
                sa.delete(conversations).where(
                    sa.or_(conversations.c.key == conversation.key, conversations.c.expires_at <= self._clock.now())
                )
            )
            conn.execute(
                conversations.insert().values(key=conversation.key, body=body, expires_at=conversation.expires_at)
            )

    def clear(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(sa.delete(conversations).where(conversations.c.key == key))
