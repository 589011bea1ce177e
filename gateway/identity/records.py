"""Identity records: plain frozen data returned by the store (never secrets, except `IssuedToken.raw` once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from core.ports import Owner


class Role(StrEnum):
    OWNER = "owner"  # manages phones, tokens and people
    STAFF = "staff"  # may log in and look


class Scope(StrEnum):
    """What an owner API token may do."""

    SIRI = "siri"  # POST /v1/channels/siri
    RUNS_READ = "runs:read"  # GET /v1/runs/<id>
    CHAT = "chat"  # chat messages from owner scripts
    CONSENTS = "consents"  # GET /v1/consents, POST /v1/consents/<id>/revoke


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Record):
    id: str
    owner_id: str
    name: str
    email: str
    role: Role
    has_password: bool = False
    locked_until: datetime | None = None
    created_at: datetime


class PhoneRecord(_Record):
    id: str
    owner_id: str
    person_id: str | None = None
    number: str
    verified: bool
    verified_at: datetime | None = None
    code_pending: bool = False
    created_at: datetime


class TokenRecord(_Record):
    id: str
    owner_id: str
    person_id: str | None = None
    name: str
    prefix: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IssuedToken(_Record):
    """A new token: the record plus its raw value, shown once and never stored."""

    record: TokenRecord
    raw: str = Field(repr=False)


class OwnerDetails(_Record):
    owner: Owner
    people: tuple[Person, ...]
    phones: tuple[PhoneRecord, ...]
    tokens: tuple[TokenRecord, ...]
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class IdentityPolicy:
    """Limits for logins and codes. Defaults follow common practice (OWASP authentication cheat sheet)."""

    lockout_failures: int = 5  # consecutive failed passwords before the account locks
    lockout_minutes: int = 15
    login_window_minutes: int = 15  # window of the per-account and per-IP attempt limits
    login_attempts_per_account: int = 10
    login_attempts_per_ip: int = 30
    code_ttl_minutes: int = 10
    code_max_attempts: int = 5  # wrong guesses before a code is burnt
    codes_per_phone_per_hour: int = 5
    codes_per_ip_per_hour: int = 20
    session_hours: int = 12
    token_touch_seconds: int = 60  # last_used_at is written at most this often
