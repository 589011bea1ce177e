"""Persisted SMS opt-outs (numbers that texted STOP) and the inbound message ids already handled (Twilio may
deliver the same message again), on SQLite or PostgreSQL; plus an in-memory twin.

The table lives on its own ``MetaData``; wire it with ``create_schema(engine, components=[SCHEMA])``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()
sms_opt_outs = sa.Table(
    "sms_opt_outs",
    metadata,
    sa.Column("phone", sa.String(32), primary_key=True),
    sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
)
sms_inbound = sa.Table(
    "sms_inbound_messages",
    metadata,
    sa.Column("message_sid", sa.String(64), primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)
SCHEMA = ("sms", 2, metadata)


class SqlSmsOptOuts:
    """`chat.sms.SmsOptOuts` over SQL: one row per opted-out number."""

    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    def is_opted_out(self, phone: str) -> bool:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(sms_opt_outs.c.phone).where(sms_opt_outs.c.phone == phone)).first()
        return row is not None

    def opt_out(self, phone: str) -> None:
        with self._engine.begin() as conn:
            exists = conn.execute(sa.select(sms_opt_outs.c.phone).where(sms_opt_outs.c.phone == phone)).first()
            if exists is None:
                try:
                    with conn.begin_nested():
                        conn.execute(sms_opt_outs.insert().values(phone=phone, opted_out_at=datetime.now(UTC)))
                except sa.exc.IntegrityError:  # a concurrent STOP won the race: same outcome
                    pass

    def opt_in(self, phone: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(sms_opt_outs.delete().where(sms_opt_outs.c.phone == phone))

    def first_delivery(self, message_sid: str) -> bool:
        """Record ``message_sid``; False when it was handled before (a redelivery). No sid: always True."""
        if not message_sid:
            return True
        try:
            with self._engine.begin() as conn:
                conn.execute(sms_inbound.insert().values(message_sid=message_sid[:64], received_at=datetime.now(UTC)))
        except sa.exc.IntegrityError:
            return False
        return True


class MemorySmsOptOuts:
    """`chat.sms.SmsOptOuts` in memory (unit tests, throwaway demos)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._phones: set[str] = set()
        self._seen: set[str] = set()

    def is_opted_out(self, phone: str) -> bool:
        with self._lock:
            return phone in self._phones

    def opt_out(self, phone: str) -> None:
        with self._lock:
            self._phones.add(phone)

    def opt_in(self, phone: str) -> None:
        with self._lock:
            self._phones.discard(phone)

    def first_delivery(self, message_sid: str) -> bool:
        if not message_sid:
            return True
        with self._lock:
            if message_sid in self._seen:
                return False
            self._seen.add(message_sid)
            return True
