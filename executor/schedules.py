"""Scheduled workflows: the standing grants that run on a schedule, and the scheduler that starts their runs.

An owner approves "every Monday at 9, send me a sales report" once (a standing consent grant, ``confirm``
tier). The ``workflow.schedule`` run records a row here bound to that grant. Every worker process runs a
:class:`Scheduler` tick; when a schedule is due, the tick

1. re-checks the grant (approved, unexpired, not revoked, same params hash) — a revoked or run-out grant
   stops the schedule for good, audited, and nothing runs;
2. creates the occurrence run with a run id derived from the schedule and the slot, so two schedulers (or a
   scheduler restarted after a crash) create it at most once: the second insert is a ``Conflict``;
3. moves ``next_run_at`` forward by compare-and-set, then enqueues the run (a lost enqueue is recovered by
   the reaper, which re-enqueues queued runs nobody picked up).

Slots missed while no worker was running are coalesced into one run (the latest), not replayed one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.commands import Channel, ReplyRoute
from core.entitlements import check_entitlement
from core.errors import Conflict, ConsentError
from core.i18n import known, t
from core.ports import (
    AuditEntry,
    AuditLog,
    Clock,
    ConsentRecord,
    ConsentStore,
    Ids,
    Owners,
    Queue,
    ScheduleRecord,
    ScheduleStatus,
)
from core.schedules import Cadence, cadence, describe
from executor.journal import SqlJournal
from executor.periodic import Periodic
from executor.recipe import RecipeRegistry

log = logging.getLogger(__name__)

VERSION = 1
metadata = sa.MetaData()
_ts = sa.DateTime(timezone=True)

workflow_schedules = sa.Table(
    "workflow_schedules",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner_id", sa.String(128), nullable=False),
    sa.Column("consent_id", sa.String(128), nullable=False, unique=True),  # one schedule per standing grant
    sa.Column("schedule", sa.String(64), nullable=False),
    sa.Column("tasks", sa.JSON, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("weekday", sa.Integer, nullable=True),
    sa.Column("at", sa.String(5), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("next_run_at", _ts, nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("last_run_id", sa.String(64), nullable=True),
    sa.Column("last_fired_at", _ts, nullable=True),
    sa.Column("stopped_at", _ts, nullable=True),
    sa.Column("stopped_reason", sa.String(32), nullable=True),
    sa.Index("ix_workflow_schedules_due", "status", "next_run_at"),
    sa.Index("ix_workflow_schedules_owner", "owner_id", "status"),
)

SCHEMA = ("schedules", VERSION, metadata)
OCCURRENCE_RECIPE = "workflow.occurrence"
_ACTIVE = ScheduleStatus.ACTIVE.value


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: Any) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        owner_id=row.owner_id,
        consent_id=row.consent_id,
        schedule=row.schedule,
        tasks=tuple(row.tasks),
        timezone=row.timezone,
        weekday=row.weekday,
        at=row.at,
        status=ScheduleStatus(row.status),
        next_run_at=_utc(row.next_run_at) or datetime.min.replace(tzinfo=UTC),
        created_at=_utc(row.created_at) or datetime.min.replace(tzinfo=UTC),
        last_run_id=row.last_run_id,
        last_fired_at=_utc(row.last_fired_at),
        stopped_at=_utc(row.stopped_at),
        stopped_reason=row.stopped_reason,
    )


def cadence_of(record: ScheduleRecord) -> Cadence:
    """The cadence a stored schedule fires on (its weekday was resolved when it was created)."""
    hours, minutes = record.at.split(":")
    return Cadence(weekday=record.weekday, at=time(int(hours), int(minutes)), timezone=record.timezone)


def describe_schedule(record: ScheduleRecord, locale: str = "en-US") -> str:
    """``a sales report every Monday at 09:00`` for a stored schedule, in ``locale``."""
    return describe(record.schedule, record.tasks, weekday=record.weekday, locale=locale)


class SqlSchedules:
    """The ``workflow_schedules`` table (SQLite or PostgreSQL); implements ``core.ports.Schedules``."""

    def __init__(self, engine: Engine, *, clock: Clock, ids: Ids) -> None:
        self._engine = engine
        self._clock = clock
        self._ids = ids

    def create(
        self, *, owner_id: str, consent_id: str, schedule: str, tasks: Sequence[str], timezone: str
    ) -> ScheduleRecord:
        """Record the schedule of a standing grant; idempotent per grant (a retried step gets the same row)."""
        existing = self.by_consent(consent_id)
        if existing is not None:
            return existing
        now = self._clock.now()
        when = cadence(schedule, timezone=timezone, created_at=now)
        values = {
            "id": self._ids.new_id("sch"),
            "owner_id": owner_id,
            "consent_id": consent_id,
            "schedule": schedule,
            "tasks": list(tasks),
            "timezone": when.timezone,
            "weekday": when.weekday,
            "at": when.at.strftime("%H:%M"),
            "status": _ACTIVE,
            "next_run_at": when.next_after(now),
            "created_at": now,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(workflow_schedules.insert().values(**values))
        except sa.exc.IntegrityError:  # a concurrent retry of the same step inserted it first
            pass
        record = self.by_consent(consent_id)
        if record is None:  # pragma: no cover - the row was just inserted
            raise Conflict("The schedule could not be recorded.")
        return record

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        """The schedule, or None."""
        return self._one(workflow_schedules.c.id == schedule_id)

    def by_consent(self, consent_id: str) -> ScheduleRecord | None:
        """The schedule bound to a standing grant, or None."""
        return self._one(workflow_schedules.c.consent_id == consent_id)

    def active(self, owner_id: str) -> Sequence[ScheduleRecord]:
        """The owner's schedules that still fire, oldest first."""
        query = (
            sa.select(workflow_schedules)
            .where(workflow_schedules.c.owner_id == owner_id, workflow_schedules.c.status == _ACTIVE)
            .order_by(workflow_schedules.c.created_at, workflow_schedules.c.id)
        )
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def due(self, now: datetime, *, limit: int = 100) -> Sequence[ScheduleRecord]:
        """Active schedules whose next run is at or before ``now``, most overdue first."""
        query = (
            sa.select(workflow_schedules)
            .where(workflow_schedules.c.status == _ACTIVE, workflow_schedules.c.next_run_at <= now)
            .order_by(workflow_schedules.c.next_run_at, workflow_schedules.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def advance(
        self, schedule_id: str, *, expected: datetime, to: datetime, run_id: str | None, fired_at: datetime
    ) -> bool:
        """Move ``next_run_at`` from ``expected`` to ``to`` (compare-and-set); False when another tick did.

        ``run_id`` is the run started for the slot (None when the slot was skipped).
        """
        values: dict[str, Any] = {"next_run_at": to}
        if run_id is not None:
            values.update(last_run_id=run_id, last_fired_at=fired_at)
        with self._engine.begin() as conn:
            result = conn.execute(
                workflow_schedules.update()
                .where(
                    workflow_schedules.c.id == schedule_id,
                    workflow_schedules.c.status == _ACTIVE,
                    workflow_schedules.c.next_run_at == expected,
                )
                .values(**values)
            )
        return result.rowcount == 1

    def stop(self, schedule_id: str, *, reason: str) -> bool:
        """Stop an active schedule for good; False when it was already stopped."""
        with self._engine.begin() as conn:
            result = conn.execute(
                workflow_schedules.update()
                .where(workflow_schedules.c.id == schedule_id, workflow_schedules.c.status == _ACTIVE)
                .values(status=ScheduleStatus.STOPPED.value, stopped_at=self._clock.now(), stopped_reason=reason)
            )
        return result.rowcount == 1

    def forget(self, owner_id: str) -> int:
        """Delete every schedule of the owner (erasure); returns how many."""
        with self._engine.begin() as conn:
            result = conn.execute(workflow_schedules.delete().where(workflow_schedules.c.owner_id == owner_id))
        return int(result.rowcount or 0)

    def _one(self, where: sa.ColumnElement[bool]) -> ScheduleRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(workflow_schedules).where(where)).first()
        return _record(row) if row is not None else None


def occurrence_run_id(schedule_id: str, slot: datetime) -> str:
    """The one run id a schedule's slot may have: ``run_<schedule>_<yyyymmddHHMM>`` (UTC)."""
    return f"run_{schedule_id.removeprefix('sch_')}_{slot.astimezone(UTC):%Y%m%d%H%M}"


class Scheduler:
    """Starts the runs of due schedules (see the module docstring); ``tick`` is safe in any number of processes."""

    def __init__(
        self,
        *,
        schedules: SqlSchedules,
        journal: SqlJournal,
        queue: Queue,
        recipes: RecipeRegistry,
        consents: ConsentStore,
        audit: AuditLog,
        clock: Clock,
        agent: str = "scheduler",
        reply_route: Callable[[ConsentRecord], ReplyRoute] | None = None,
        owners: Owners | None = None,
        notify: Callable[[str, str], None] | None = None,
        batch: int = 100,
    ) -> None:
        self._batch = batch
        self._schedules = schedules
        self._journal = journal
        self._queue = queue
        self._recipes = recipes
        self._consents = consents
        self._audit = audit
        self._clock = clock
        self._agent = agent
        self._route = reply_route or occurrence_route
        self._owners = owners
        self._notify = notify  # (owner_id, message): tells the owner when a schedule stops on its own

    @property
    def schedules(self) -> SqlSchedules:
        """The schedule store this scheduler reads."""
        return self._schedules

    def tick(self, now: datetime | None = None) -> list[str]:
        """Start every due schedule's run; returns the ids of the runs this call created."""
        moment = now or self._clock.now()
        started: list[str] = []
        seen: set[str] = set()
        while True:  # in batches; a schedule that could not fire (it stays due) is tried once per tick
            batch = [r for r in self._schedules.due(moment, limit=self._batch) if r.id not in seen]
            if not batch:
                return started
            for record in batch:
                seen.add(record.id)
                try:
                    run_id = self._fire(record, moment)
                except Exception:  # one bad schedule must not stop the others; it is retried next tick
                    log.exception("schedule %s could not fire", record.id)
                    continue
                if run_id is not None:
                    started.append(run_id)

    def _fire(self, record: ScheduleRecord, now: datetime) -> str | None:
        recipe = self._recipes.get(OCCURRENCE_RECIPE)
        if recipe is None:  # a deployment without the workflow recipes: keep the schedules for one that has them
            log.error("no %s recipe is registered: schedule %s waits", OCCURRENCE_RECIPE, record.id)
            return None
        consent = self._consents.get(record.consent_id)
        if consent is None:
            self._stop(record, "missing", "no consent for this schedule")
            return None
        try:
            self._consents.check_grant(
                record.consent_id, owner_id=record.owner_id, params_hash=recipe.params_hash(consent.params)
            )
        except ConsentError as err:
            self._stop(record, str(err.extra.get("reason") or err.code), err.message, locale=consent.locale)
            return None
        when = cadence_of(record)
        slot = when.latest_due(record.next_run_at, now)
        run_id = occurrence_run_id(record.id, slot)
        if not self._entitled(record, consent):  # the add-on lapsed: skip this slot, keep the schedule
            if self._schedules.advance(
                record.id, expected=record.next_run_at, to=when.next_after(now), run_id=None, fired_at=now
            ):
                self._audit_schedule(record, "schedule.skipped", success=False, reason="not_entitled")
            return None
        created = True
        try:
            self._journal.create_run(
                owner_id=record.owner_id,
                recipe=recipe.name,
                params=consent.params,
                consent_id=record.consent_id,
                reply_route=self._route(consent),
                locale=consent.locale,
                run_id=run_id,
            )
        except Conflict:  # another scheduler (or this one before a crash) created this slot's run
            created = False
        self._schedules.advance(
            record.id, expected=record.next_run_at, to=when.next_after(now), run_id=run_id, fired_at=now
        )
        if not created:
            return None
        self._audit_schedule(record, "schedule.fired", run_id=run_id, slot=slot.isoformat(), tasks=list(record.tasks))
        self._queue.enqueue(run_id)
        return run_id

    def _entitled(self, record: ScheduleRecord, consent: ConsentRecord) -> bool:
        if self._owners is None:
            return True
        owner = self._owners.get(record.owner_id)
        return owner is not None and check_entitlement(owner, consent.intent, consent.params).allowed

    def _stop(self, record: ScheduleRecord, reason: str, message: str, *, locale: str | None = None) -> None:
        if not self._schedules.stop(record.id, reason=reason):
            return
        log.info("schedule %s stopped: %s", record.id, message)
        self._audit_schedule(record, "schedule.stopped", reason=reason)
        if self._notify is None or reason == "revoked":  # the owner revoked it: they know
            return
        if locale is None:
            owner = self._owners.get(record.owner_id) if self._owners is not None else None
            locale = owner.locale if owner is not None else "en-US"
        why_key = f"schedule.stop_reason.{reason}"
        text = t(
            locale,
            "schedule.stopped_notice",
            what=describe_schedule(record, locale),
            why=t(locale, why_key if known(why_key) else "schedule.stop_reason.other"),
        )
        try:
            self._notify(record.owner_id, text)
        except Exception:  # telling the owner is best effort; the stop itself is recorded and audited
            log.exception("could not tell the owner that schedule %s stopped", record.id)

    def _audit_schedule(
        self, record: ScheduleRecord, action: str, *, success: bool = True, run_id: str | None = None, **detail: Any
    ) -> None:
        self._audit.append(
            AuditEntry(
                owner_id=record.owner_id,
                action=action,
                agent=self._agent,
                success=success,
                run_id=run_id,
                consent_id=record.consent_id,
                detail={"schedule_id": record.id, **detail},
            )
        )


def occurrence_route(consent: ConsentRecord) -> ReplyRoute:
    """Scheduled results are texted: to the phone the owner scheduled from, else their first verified phone."""
    route = consent.reply_route
    return route if route.channel is Channel.SMS else ReplyRoute(channel=Channel.SMS)


class SchedulerThread(Periodic):
    """A daemon thread calling :meth:`Scheduler.tick` every ``interval`` seconds until stopped."""

    def __init__(self, scheduler: Scheduler, *, interval: float = 15.0) -> None:
        super().__init__(scheduler.tick, interval=interval, name="omniops-workflow-scheduler")
