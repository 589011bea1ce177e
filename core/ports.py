"""Ports: the Protocols the core needs from the outside world, and the records that cross them.

Only `gateway/bootstrap.py` knows the concrete classes (SQL journal, Huey queue, Tink vault, SQL
audit log, consent store, notifiers). Unit tests use `Fake<Port>` classes implementing the same
Protocols. Records are frozen pydantic models: plain data, safe to log (they never hold secrets).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from core.commands import Channel, Command, ReplyRoute
from core.events import RunEvent
from core.intents import ConsentTier, Workflows


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------------------------- clock, ids
@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


@runtime_checkable
class Ids(Protocol):
    def new_id(self, prefix: str) -> str:
        """A new unique, URL-safe id such as ``run_3kT9…`` (prefix + random)."""
        ...


# --------------------------------------------------------------------------------------------- owners
class Plan(StrEnum):
    MANUAL = "manual"  # $99: guides, no autonomous runs
    AI_ASSISTED = "ai_assisted"  # $299: autonomous setups, voice, self-healing, migrations


class Addon(StrEnum):
    CUSTOM_WORKFLOW = "custom_workflow"
    OPTIMIZATION = "optimization"


class Owner(Record):
    id: str
    name: str
    plan: Plan
    addons: tuple[Addon, ...] = ()
    locale: str = "en-US"
    timezone: str = "UTC"
    verified_phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


class Owners(Protocol):
    def get(self, owner_id: str) -> Owner | None: ...

    def by_verified_phone(self, phone: str) -> Owner | None: ...


# --------------------------------------------------------------------------------------------- consent
class ConsentDeclaration(Record):
    """What a recipe will do, declared once; the page, the voice prompt and the audit entry render it."""

    action: str
    service: str
    permissions: tuple[str, ...]
    data_access: tuple[str, ...]
    duration: str  # "one-time" or e.g. "until revoked", "90 days"
    tier: ConsentTier
    standing: bool = False  # a recurring workflow approved once


class ConsentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ConsentRecord(Record):
    id: str
    owner_id: str
    intent: str
    params: dict[str, Any]
    params_hash: str
    declaration: ConsentDeclaration
    channel: Channel
    reply_route: ReplyRoute
    locale: str = "en-US"
    status: ConsentStatus
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    grant_expires_at: datetime | None = None  # an approved grant's end; None while pending, or "until revoked"
    revoked_at: datetime | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)  # channel, ip, user agent, code used


class IssuedConsent(Record):
    """A new consent request plus its one-time secrets (returned once, only their hashes are stored)."""

    record: ConsentRecord
    link_token: str
    sms_code: str


class ConsentStore(Protocol):
    def create(self, *, command: Command, declaration: ConsentDeclaration, ttl_seconds: int) -> IssuedConsent: ...

    def get(self, consent_id: str) -> ConsentRecord | None: ...

    def latest_pending(self, owner_id: str) -> ConsentRecord | None: ...

    def decide(self, consent_id: str, *, approve: bool, evidence: Mapping[str, Any]) -> ConsentRecord:
        """Atomically move a pending request to approved/denied; raises ``Conflict`` if already decided."""
        ...

    def decide_by_code(self, owner_id: str, code: str, *, evidence: Mapping[str, Any]) -> ConsentRecord:
        """Approve the owner's pending request whose SMS code is ``code`` (single-use, rate-limited).

        Raises ``NotFound`` for a wrong or used code and ``RateLimited`` after too many wrong tries.
        """
        ...

    def check_grant(self, consent_id: str, *, owner_id: str, params_hash: str) -> ConsentRecord:
        """Return the grant if approved, unexpired (or standing), unrevoked and matching; else ``ConsentError``."""
        ...


# --------------------------------------------------------------------------------------------- schedules
class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"


class ScheduleRecord(Record):
    """A recurring workflow the owner approved once (a standing consent grant), and when it fires next."""

    id: str
    owner_id: str
    consent_id: str  # the standing grant every run of this schedule executes under
    schedule: str  # normalized: "every monday at 09:00"
    tasks: tuple[str, ...]
    timezone: str
    weekday: int | None  # resolved day (0 = Monday) for weekly schedules; None = every day
    at: str  # local "HH:MM"
    status: ScheduleStatus
    next_run_at: datetime
    created_at: datetime
    last_run_id: str | None = None
    last_fired_at: datetime | None = None
    stopped_at: datetime | None = None
    stopped_reason: str | None = None  # "revoked", "expired", "cancelled", …

    def stopped_by(self, target: str) -> bool:
        """Whether ``revoke_access`` of ``target`` (``schedules`` or a task name) stops this schedule."""
        return target == Workflows.ALL.value or target in self.tasks


class Schedules(Protocol):
    def active(self, owner_id: str) -> Sequence[ScheduleRecord]:
        """The owner's schedules that still fire, oldest first."""
        ...


# --------------------------------------------------------------------------------------------- recipes
class RecipeInfo(Record):
    """What the core needs to know about the recipe serving a command."""

    name: str
    declaration: ConsentDeclaration
    required: tuple[str, ...] = ()  # params needed beyond the intent's own (e.g. store_url for WooCommerce)
    prompts: dict[str, str] = Field(default_factory=dict)
    expected_seconds: int = 60
    manual_guide_url: str | None = None


class RecipeCatalog(Protocol):
    def for_command(self, intent: str, params: Mapping[str, Any]) -> RecipeInfo | None:
        """The recipe that would serve ``intent`` with ``params``, or None if none exists yet."""
        ...


# --------------------------------------------------------------------------------------------- runs
class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING_FOR_OWNER = "waiting_for_owner"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    COMPENSATED = "compensated"

    @property
    def active(self) -> bool:
        return self in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING_FOR_OWNER)


class RunRecord(Record):
    id: str
    owner_id: str
    recipe: str
    params: dict[str, Any]
    params_hash: str
    consent_id: str | None
    reply_route: ReplyRoute
    locale: str = "en-US"
    status: RunStatus
    attempt: int = 0
    created_at: datetime
    updated_at: datetime
    summary: str | None = None
    error: str | None = None
    cancel_requested: bool = False


class Journal(Protocol):
    def create_run(
        self,
        *,
        owner_id: str,
        recipe: str,
        params: Mapping[str, Any],
        consent_id: str | None,
        reply_route: ReplyRoute,
        locale: str = "en-US",
    ) -> RunRecord: ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def latest_run(self, owner_id: str, *, active_only: bool = False) -> RunRecord | None: ...

    def request_cancel(self, run_id: str) -> RunRecord: ...

    def events(self, run_id: str, *, after_seq: int = -1) -> Sequence[RunEvent]: ...


class Queue(Protocol):
    def enqueue(self, run_id: str, *, delay_seconds: float = 0.0) -> None:
        """Hand a run id (nothing else) to the workers."""
        ...


# --------------------------------------------------------------------------------------------- vault, audit
class CredentialMeta(Record):
    id: str
    owner_id: str
    service: str
    label: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False


class Vault(Protocol):
    def list(self, owner_id: str) -> Sequence[CredentialMeta]: ...


class AuditEntry(Record):
    owner_id: str | None
    action: str
    agent: str  # "channel:alexa", "worker:host-1", "owner:person_x", "operator"
    success: bool | None  # None for a "started" entry
    phase: str = "finished"  # "started" | "finished"
    channel: str | None = None
    run_id: str | None = None
    consent_id: str | None = None
    duration_ms: int | None = None
    steps_executed: tuple[str, ...] = ()
    credentials_accessed: tuple[str, ...] = ()  # credential ids, never values
    ip_address: str | None = None
    user_agent: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> int:
        """Append one entry; returns its sequence number."""
        ...


# --------------------------------------------------------------------------------------------- notify, reports
class Notifier(Protocol):
    def send_consent_link(self, *, owner: Owner, consent: ConsentRecord, link: str, code: str) -> None:
        """Text the owner the approve link and the SMS code (the only place both leave the system)."""
        ...

    def run_event(self, event: RunEvent, route: ReplyRoute) -> None: ...


class ReportRow(Record):
    label: str
    value: float | int | str
    detail: str | None = None


class Reports(Protocol):
    def report(self, owner_id: str, report: str, period: str | None) -> Sequence[ReportRow] | None:
        """Rows of the report, or None when no store is synced yet."""
        ...


class Conversation(Record):
    """A pending question in a conversation: the partial command waiting for a param or a yes/no."""

    key: str  # channel + session/phone
    intent: str
    params: dict[str, Any]
    awaiting: str  # a param name, or "confirm"
    consent_id: str | None = None
    expires_at: datetime


class Conversations(Protocol):
    def get(self, key: str) -> Conversation | None: ...

    def put(self, conversation: Conversation) -> None: ...

    def clear(self, key: str) -> None: ...


class EventStream(Protocol):
    def subscribe(self, owner_id: str, *, after: str | None = None) -> Iterator[RunEvent]: ...
