"""Fakes of every core port, for unit tests that drive handlers through the bus without I/O."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.commands import Command, ReplyRoute
from core.consent import params_hash
from core.errors import Conflict, ConsentError, NotFound
from core.events import RunEvent, RunEventKind
from core.ports import (
    AuditEntry,
    ConsentDeclaration,
    ConsentRecord,
    ConsentStatus,
    Conversation,
    CredentialMeta,
    IssuedConsent,
    Owner,
    RecipeInfo,
    ReportRow,
    RunRecord,
    RunStatus,
)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


class FakeIds:
    def __init__(self) -> None:
        self._n = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._n)}"


@dataclass
class FakeOwners:
    owners: dict[str, Owner] = field(default_factory=dict)

    def get(self, owner_id: str) -> Owner | None:
        return self.owners.get(owner_id)

    def by_verified_phone(self, phone: str) -> Owner | None:
        return next((o for o in self.owners.values() if phone in o.verified_phones), None)


class FakeConsents:
    def __init__(self, clock: FakeClock, ids: FakeIds) -> None:
        self.clock, self.ids = clock, ids
        self.records: dict[str, ConsentRecord] = {}
        self.codes: dict[str, str] = {}
        self.tokens: dict[str, str] = {}

    def create(self, *, command: Command, declaration: ConsentDeclaration, ttl_seconds: int) -> IssuedConsent:
        cid = self.ids.new_id("con")
        now = self.clock.now()
        rec = ConsentRecord(
            id=cid,
            owner_id=command.principal.owner_id or "",
            intent=command.intent,
            params=dict(command.params),
            params_hash=params_hash(command.intent, command.params, declaration),
            declaration=declaration,
            channel=command.channel,
            reply_route=command.reply_route,
            locale=command.locale,
            status=ConsentStatus.PENDING,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        self.records[cid] = rec
        code = f"{100000 + len(self.records):06d}"
        token = f"tok-{cid}"
        self.codes[cid], self.tokens[cid] = hashlib.sha256(code.encode()).hexdigest(), token
        return IssuedConsent(record=rec, link_token=token, sms_code=code)

    def get(self, consent_id: str) -> ConsentRecord | None:
        rec = self.records.get(consent_id)
        if rec and rec.status is ConsentStatus.PENDING and rec.expires_at <= self.clock.now():
            rec = rec.model_copy(update={"status": ConsentStatus.EXPIRED})
            self.records[consent_id] = rec
        return rec

    def latest_pending(self, owner_id: str) -> ConsentRecord | None:
        pending = [r for r in self.records.values() if r.owner_id == owner_id and r.status is ConsentStatus.PENDING]
        return pending[-1] if pending else None

    def decide(self, consent_id: str, *, approve: bool, evidence: Mapping[str, Any]) -> ConsentRecord:
        rec = self.get(consent_id)
        if rec is None:
            raise NotFound()
        if rec.status is not ConsentStatus.PENDING:
            raise Conflict("already decided")
        status = ConsentStatus.APPROVED if approve else ConsentStatus.DENIED
        rec = rec.model_copy(update={"status": status, "decided_at": self.clock.now(), "evidence": dict(evidence)})
        self.records[consent_id] = rec
        return rec

    def decide_by_code(self, owner_id: str, code: str, *, evidence: Mapping[str, Any]) -> ConsentRecord:
        digest = hashlib.sha256(code.encode()).hexdigest()
        for cid, h in self.codes.items():
            rec = self.get(cid)
            if rec and rec.owner_id == owner_id and h == digest and rec.status is ConsentStatus.PENDING:
                return self.decide(cid, approve=True, evidence=evidence)
        raise NotFound("bad code")

    def check_grant(self, consent_id: str, *, owner_id: str, params_hash: str) -> ConsentRecord:
        rec = self.get(consent_id)
        if rec is None or rec.owner_id != owner_id or rec.status is not ConsentStatus.APPROVED:
            raise ConsentError()
        if rec.params_hash != params_hash:
            raise ConsentError("mismatch")
        return rec


class FakeJournal:
    def __init__(self, clock: FakeClock, ids: FakeIds) -> None:
        self.clock, self.ids = clock, ids
        self.runs: dict[str, RunRecord] = {}
        self.event_log: dict[str, list[RunEvent]] = {}

    def create_run(
        self,
        *,
        owner_id: str,
        recipe: str,
        params: Mapping[str, Any],
        consent_id: str | None,
        reply_route: ReplyRoute,
        locale: str = "en-US",
    ) -> RunRecord:
        rid = self.ids.new_id("run")
        now = self.clock.now()
        run = RunRecord(
            id=rid,
            owner_id=owner_id,
            recipe=recipe,
            params=dict(params),
            params_hash="",
            consent_id=consent_id,
            reply_route=reply_route,
            locale=locale,
            status=RunStatus.QUEUED,
            created_at=now,
            updated_at=now,
        )
        self.runs[rid] = run
        self.event_log[rid] = [
            RunEvent(run_id=rid, owner_id=owner_id, seq=0, kind=RunEventKind.QUEUED, message="Queued", at=now)
        ]
        return run

    def get_run(self, run_id: str) -> RunRecord | None:
        return self.runs.get(run_id)

    def latest_run(self, owner_id: str, *, active_only: bool = False) -> RunRecord | None:
        runs = [r for r in self.runs.values() if r.owner_id == owner_id and (r.status.active or not active_only)]
        return runs[-1] if runs else None

    def request_cancel(self, run_id: str) -> RunRecord:
        run = self.runs[run_id].model_copy(update={"cancel_requested": True})
        self.runs[run_id] = run
        return run

    def events(self, run_id: str, *, after_seq: int = -1) -> Sequence[RunEvent]:
        return [e for e in self.event_log.get(run_id, []) if e.seq > after_seq]


@dataclass
class FakeQueue:
    enqueued: list[str] = field(default_factory=list)

    def enqueue(self, run_id: str, *, delay_seconds: float = 0.0) -> None:
        self.enqueued.append(run_id)


@dataclass
class FakeVault:
    creds: list[CredentialMeta] = field(default_factory=list)

    def list(self, owner_id: str) -> Sequence[CredentialMeta]:
        return [c for c in self.creds if c.owner_id == owner_id]


@dataclass
class FakeAudit:
    entries: list[AuditEntry] = field(default_factory=list)

    def append(self, entry: AuditEntry) -> int:
        self.entries.append(entry)
        return len(self.entries)


@dataclass
class FakeNotifier:
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (owner, link, code)
    events: list[RunEvent] = field(default_factory=list)

    def send_consent_link(self, *, owner: Owner, consent: ConsentRecord, link: str, code: str) -> None:
        self.links.append((owner.id, link, code))

    def run_event(self, event: RunEvent, route: ReplyRoute) -> None:
        self.events.append(event)


DECL = ConsentDeclaration(
    action="Create WooCommerce API keys and sync your products",
    service="woocommerce",
    permissions=("read_write products", "read orders", "manage webhooks"),
    data_access=("products", "orders"),
    duration="until revoked",
    tier="verified",
)


@dataclass
class FakeRecipes:
    infos: dict[str, RecipeInfo] = field(default_factory=dict)

    def for_command(self, intent: str, params: Mapping[str, Any]) -> RecipeInfo | None:
        key = f"{intent}:{params.get('service', '')}"
        return self.infos.get(key) or self.infos.get(intent)


@dataclass
class FakeReports:
    rows: dict[tuple[str, str], list[ReportRow]] = field(default_factory=dict)

    def report(self, owner_id: str, report: str, period: str | None) -> Sequence[ReportRow] | None:
        return self.rows.get((owner_id, report))


@dataclass
class FakeConversations:
    items: dict[str, Conversation] = field(default_factory=dict)

    def get(self, key: str) -> Conversation | None:
        return self.items.get(key)

    def put(self, conversation: Conversation) -> None:
        self.items[conversation.key] = conversation

    def clear(self, key: str) -> None:
        self.items.pop(key, None)
