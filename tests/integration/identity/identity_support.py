"""Helpers for the identity integration tests (stand-ins for ports owned by others, page helpers).

`ListAudit` stands in for the SQL audit log (built elsewhere) and `SmsOutbox` for the Twilio client (built
elsewhere): both only record what the store hands them; nothing of ours is mocked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from core.ports import AuditEntry
from gateway.db import create_schema
from gateway.identity.passwords import Passwords
from gateway.identity.records import IdentityPolicy
from gateway.identity.schema import SCHEMA
from gateway.identity.store import SqlOwners

PASSWORD = "correct horse battery"


class MutableClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


class RandomIds:
    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{secrets.token_urlsafe(12)}"


@dataclass
class ListAudit:
    entries: list[AuditEntry] = field(default_factory=list)

    def append(self, entry: AuditEntry) -> int:
        self.entries.append(entry)
        return len(self.entries)

    def actions(self) -> list[str]:
        return [e.action for e in self.entries]

    def last(self, action: str) -> AuditEntry:
        return [e for e in self.entries if e.action == action][-1]


@dataclass
class SmsOutbox:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, to: str, body: str) -> None:
        self.sent.append((to, body))

    def last_code(self, to: str) -> str:
        bodies = [b for t, b in self.sent if t == to]
        assert bodies, f"no SMS to {to}"
        match = re.search(r"\b(\d{6})\b", bodies[-1])
        assert match
        return match.group(1)


def make_store(
    engine: Engine, clock: MutableClock, audit: ListAudit, sms: SmsOutbox, policy: IdentityPolicy
) -> SqlOwners:
    create_schema(engine, [SCHEMA])
    return SqlOwners(
        engine,
        clock,
        RandomIds(),
        audit,
        send_sms=sms,
        passwords=Passwords(time_cost=1, memory_cost=1024, parallelism=1),
        policy=policy,
    )


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> int:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    return resp.status_code


def account_csrf(client: FlaskClient) -> str:
    resp = client.get("/account")
    assert resp.status_code == 200
    return csrf_from(resp.get_data(as_text=True))
