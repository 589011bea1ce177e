"""Persisted SMS opt-outs (numbers that texted STOP), on SQLite or PostgreSQL; plus an in-memory twin.

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
SCHEMA = ("sms", 1, metadata)


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


class MemorySmsOptOuts:
    """`chat.sms.SmsOptOuts` in memory (unit tests, throwaway demos)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._phones: set[str] = set()

    def is_opted_out(self, phone: str) -> bool:
        with self._lock:
            return phone in self._phones

    def opt_out(self, phone: str) -> None:
        with self._lock:
            self._phones.add(phone)

    def opt_in(self, phone: str) -> None:
        with self._lock:
            self._phones.discard(phone)
