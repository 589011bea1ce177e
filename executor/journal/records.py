"""Journal records (RunRow, StepRow), row converters, and the default clock and ids."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.commands import Channel, ReplyRoute
from core.events import RunEvent, RunEventKind
from core.ports import RunRecord, RunStatus

_TERMINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.COMPENSATED)


class SystemClock:
    """``core.ports.Clock`` on the system clock."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)


class TokenIds:
    """``core.ports.Ids`` with 16 random URL-safe bytes."""

    def new_id(self, prefix: str) -> str:
        """``prefix_<random>``."""
        return f"{prefix}_{secrets.token_urlsafe(12)}"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _dumps(data: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(data or {}), sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True, kw_only=True)
class RunRow:
    """Everything the runner knows about a run (the port's ``RunRecord`` plus lease and wait state)."""

    record: RunRecord
    recipe_version: int
    intent: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    not_before: datetime | None
    recoveries: int
    wait_key: str | None
    wait_reason: str | None
    wait_deadline: datetime | None
    started_at: datetime | None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def attempt(self) -> int:
        return self.record.attempt

    @property
    def status(self) -> RunStatus:
        return self.record.status


@dataclass(frozen=True, kw_only=True)
class StepRow:
    """One step's journal entry."""

    step_id: str
    status: str  # pending started done failed compensated
    attempt: int
    tries: int
    next_retry_at: datetime | None
    idempotency_key: str
    external_ids: dict[str, str]
    output: dict[str, Any]
    summary: str | None
    error: str | None
    owner_input: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None


def _claimable(row: RunRow, now: datetime) -> bool:
    if row.status == RunStatus.QUEUED:
        return row.not_before is None or row.not_before <= now or row.record.cancel_requested
    if row.status == RunStatus.RUNNING:
        return row.lease_expires_at is None or row.lease_expires_at < now
    if row.status == RunStatus.WAITING_FOR_OWNER:
        return row.record.cancel_requested or (row.wait_deadline is not None and row.wait_deadline < now)
    return False


def _fallback_hash(recipe: str, params: Mapping[str, Any]) -> str:
    import hashlib

    return hashlib.sha256(_dumps({"recipe": recipe, "params": dict(params)}).encode()).hexdigest()


def _run_row(row: Any) -> RunRow:
    record = RunRecord(
        id=row.id,
        owner_id=row.owner_id,
        recipe=row.recipe,
        params=json.loads(row.params),
        params_hash=row.params_hash,
        consent_id=row.consent_id,
        reply_route=ReplyRoute(channel=Channel(row.reply_channel), to=row.reply_to),
        locale=row.locale,
        status=RunStatus(row.status),
        attempt=row.attempt,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        summary=row.summary,
        error=row.error,
        cancel_requested=bool(row.cancel_requested),
    )
    return RunRow(
        record=record,
        recipe_version=row.recipe_version,
        intent=row.intent,
        lease_owner=row.lease_owner,
        lease_expires_at=_utc(row.lease_expires_at),
        not_before=_utc(row.not_before),
        recoveries=row.recoveries,
        wait_key=row.wait_key,
        wait_reason=row.wait_reason,
        wait_deadline=_utc(row.wait_deadline),
        started_at=_utc(row.started_at),
    )


def _step(row: Any) -> StepRow:
    return StepRow(
        step_id=row.step_id,
        status=row.status,
        attempt=row.attempt,
        tries=row.tries,
        next_retry_at=_utc(row.next_retry_at),
        idempotency_key=row.idempotency_key,
        external_ids=json.loads(row.external_ids or "{}"),
        output=json.loads(row.output or "{}"),
        summary=row.summary,
        error=row.error,
        owner_input=json.loads(row.owner_input) if row.owner_input else None,
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at),
    )


def _event(row: Any) -> RunEvent:
    return RunEvent(
        run_id=row.run_id,
        owner_id=row.owner_id,
        seq=row.seq,
        kind=RunEventKind(row.kind),
        message=row.message,
        at=_utc(row.at),
        step_id=row.step_id,
        data=json.loads(row.data or "{}"),
    )
