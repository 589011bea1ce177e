"""SMS opt-outs (STOP) persist the same way on SQLite, PostgreSQL and in memory."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from gateway.db import create_schema
from gateway.sms_optouts import SCHEMA, MemorySmsOptOuts, SqlSmsOptOuts


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def opt_outs(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return MemorySmsOptOuts()
    engine: Engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")
    create_schema(engine, components=[SCHEMA])
    return SqlSmsOptOuts(engine=engine)


def test_stop_persists_until_start(opt_outs: Any) -> None:
    phone = "+15550001111"
    assert not opt_outs.is_opted_out(phone)
    opt_outs.opt_out(phone)
    opt_outs.opt_out(phone)  # idempotent
    assert opt_outs.is_opted_out(phone) and not opt_outs.is_opted_out("+15550002222")
    opt_outs.opt_in(phone)
    assert not opt_outs.is_opted_out(phone)
    opt_outs.opt_in(phone)  # idempotent


def test_sql_opt_out_survives_a_new_store_instance(engine: Engine) -> None:
    create_schema(engine, components=[SCHEMA])
    SqlSmsOptOuts(engine=engine).opt_out("+15550003333")
    assert SqlSmsOptOuts(engine=engine).is_opted_out("+15550003333")


def test_an_inbound_message_id_is_handled_once(opt_outs: Any) -> None:
    sid = "SM" + "a" * 32
    assert opt_outs.first_delivery(sid) is True
    assert opt_outs.first_delivery(sid) is False  # Twilio delivered it again
    assert opt_outs.first_delivery("SM" + "b" * 32) is True
    assert opt_outs.first_delivery("") is True and opt_outs.first_delivery("") is True  # no id: never deduplicated
