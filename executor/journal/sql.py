"""The run/step journal: the executor's source of truth (SQLAlchemy Core on SQLite or PostgreSQL).

Huey delivers at most once, so crash safety lives here. A worker claims a run by compare-and-set on
``attempt`` (the fencing token) and holds a lease it renews; every later write names that attempt and is
refused with :class:`core.errors.StaleAttempt` once another worker has claimed the run. Each fenced write
first updates the run row (locking it for the transaction), so step writes, status changes and event
sequence numbers are serialized per run on both engines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from core.commands import ReplyRoute
from core.errors import Conflict, NotFound, StaleAttempt
from core.events import RunEvent, RunEventKind
from core.i18n import t
from core.ports import RunRecord, RunStatus
from executor.journal.records import (
    _TERMINAL,
    RunRow,
    StepRow,
    _claimable,
    _dumps,
    _event,
    _fallback_hash,
    _run_row,
    _step,
)
from executor.journal.steps import StepJournal
from executor.schema import run_events, runs, steps


class SqlJournal(StepJournal):
    """``core.ports.Journal`` plus the runner's fenced writes, on any SQLAlchemy engine."""

    # ----------------------------------------------------------------------------------------- port: Journal
    def create_run(
        self,
        *,
        owner_id: str,
        recipe: str,
        params: Mapping[str, Any],
        consent_id: str | None,
        reply_route: ReplyRoute,
        locale: str = "en-US",
        intent: str | None = None,
        params_hash: str | None = None,
        run_id: str | None = None,
    ) -> RunRecord:
        """Insert a queued run and its ``queued`` event; the caller then enqueues the id.

        ``run_id`` makes creation idempotent for callers that derive it (the scheduler: one run per schedule
        and slot): a second insert of the same id raises ``Conflict`` and changes nothing.
        """
        now = self._clock.now()
        run_id = run_id or self._ids.new_id("run")
        known = self._recipes.get(recipe) if self._recipes is not None else None
        version = known.version if known is not None else 1
        if intent is None and known is not None:
            intent = known.intent
        if params_hash is None:
            params_hash = known.params_hash(params) if known is not None else _fallback_hash(recipe, params)
        try:
            return self._insert_run(
                run_id=run_id,
                owner_id=owner_id,
                recipe=recipe,
                version=version,
                intent=intent,
                params=params,
                params_hash=params_hash,
                consent_id=consent_id,
                reply_route=reply_route,
                locale=locale,
                now=now,
            )
        except sa.exc.IntegrityError as err:
            raise Conflict(f"Run {run_id} exists already.") from err

    def _insert_run(
        self,
        *,
        run_id: str,
        owner_id: str,
        recipe: str,
        version: int,
        intent: str | None,
        params: Mapping[str, Any],
        params_hash: str,
        consent_id: str | None,
        reply_route: ReplyRoute,
        locale: str,
        now: datetime,
    ) -> RunRecord:
        with self._engine.begin() as conn:
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    owner_id=owner_id,
                    recipe=recipe,
                    recipe_version=version,
                    intent=intent,
                    params=_dumps(params),
                    params_hash=params_hash,
                    consent_id=consent_id,
                    reply_channel=reply_route.channel.value,
                    reply_to=reply_route.to,
                    locale=locale,
                    status=RunStatus.QUEUED.value,
                    lease_expires_at=now + self._pickup_grace,  # pick-up deadline for the reaper
                    attempt=0,
                    recoveries=0,
                    cancel_requested=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._insert_event(
                conn, run_id, owner_id, RunEventKind.QUEUED, t(locale, "run.event.queued"), now=now, seq=0
            )
            row = self._select_run(conn, run_id)
        if row is None:
            raise NotFound("run vanished")
        return row.record

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run, or None."""
        row = self.run_row(run_id)
        return row.record if row is not None else None

    def latest_run(self, owner_id: str, *, active_only: bool = False) -> RunRecord | None:
        """The owner's most recent run (optionally only queued/running/waiting ones)."""
        query = sa.select(runs).where(runs.c.owner_id == owner_id)
        if active_only:
            query = query.where(runs.c.status.in_([s.value for s in RunStatus if s.active]))
        query = query.order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(1)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return _run_row(row).record if row is not None else None

    def request_cancel(self, run_id: str) -> RunRecord:
        """Flag the run for cancellation (checked between steps). Terminal runs raise ``Conflict``."""
        with self._engine.begin() as conn:
            row = self._select_run(conn, run_id)
            if row is None:
                raise NotFound("no such run")
            if not row.status.active:
                raise Conflict(f"the run already {row.status.value}")
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(cancel_requested=True, updated_at=self._clock.now(), not_before=None)
            )
            fresh = self._select_run(conn, run_id)
        if fresh is None:
            raise NotFound("run vanished")
        return fresh.record

    def events(self, run_id: str, *, after_seq: int = -1) -> Sequence[RunEvent]:
        """The run's persisted events with ``seq > after_seq``, in order."""
        query = (
            sa.select(run_events)
            .where(run_events.c.run_id == run_id, run_events.c.seq > after_seq)
            .order_by(run_events.c.seq)
        )
        with self._engine.connect() as conn:
            return [_event(r) for r in conn.execute(query)]

    # ----------------------------------------------------------------------------------------- reads
    def run_row(self, run_id: str) -> RunRow | None:
        """The full run row (lease and wait state included)."""
        with self._engine.connect() as conn:
            return self._select_run(conn, run_id)

    def cancel_requested(self, run_id: str) -> bool:
        """Whether cancellation was requested (checked by the runner between steps)."""
        with self._engine.connect() as conn:
            return bool(conn.execute(sa.select(runs.c.cancel_requested).where(runs.c.id == run_id)).scalar())

    def step_rows(self, run_id: str) -> dict[str, StepRow]:
        """Every step row of the run, by step id."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(steps).where(steps.c.run_id == run_id)).all()
        return {r.step_id: _step(r) for r in rows}

    # ----------------------------------------------------------------------------------------- claim, lease
    def claim(self, run_id: str, *, worker: str, lease_seconds: float) -> RunRow | None:
        """Take the run if nobody holds a live lease on it; None if it is not claimable now.

        Claimable: queued (and past any retry ``not_before``), running with an expired lease (a crashed
        worker: counted in ``recoveries``), or waiting for the owner past its deadline. The claim bumps
        ``attempt`` by compare-and-set, so two workers can never both win.
        """
        now = self._clock.now()
        with self._engine.begin() as conn:
            row = self._select_run(conn, run_id)
            if row is None or not _claimable(row, now):
                return None
            recovered = row.status == RunStatus.RUNNING
            result = conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.attempt == row.attempt, runs.c.status == row.status.value)
                .values(
                    attempt=row.attempt + 1,
                    lease_owner=worker,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    status=RunStatus.RUNNING.value if row.status == RunStatus.QUEUED else row.status.value,
                    recoveries=row.recoveries + (1 if recovered else 0),
                    not_before=None,
                    started_at=row.started_at or now,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                return None
            return self._select_run(conn, run_id)

    def renew(self, run_id: str, *, attempt: int, worker: str, lease_seconds: float) -> None:
        """Extend the lease (heartbeat); ``StaleAttempt`` if another worker took the run."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            result = conn.execute(
                runs.update()
                .where(
                    runs.c.id == run_id,
                    runs.c.attempt == attempt,
                    runs.c.lease_owner == worker,
                    runs.c.status.in_([RunStatus.RUNNING.value, RunStatus.WAITING_FOR_OWNER.value]),
                )
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
            if result.rowcount != 1:
                raise StaleAttempt("the lease on this run was lost")

    def append_event(
        self,
        run_id: str,
        *,
        attempt: int,
        kind: RunEventKind,
        message: str,
        owner_id: str,
        step_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> RunEvent:
        """Append a progress event under the fence."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            seq = self._fence(conn, run_id, attempt, now, events=1)
            return self._insert_event(
                conn, run_id, owner_id, kind, message, step_id=step_id, data=data, now=now, seq=seq
            )

    def requeue(self, run_id: str, *, attempt: int, not_before: datetime, grace_seconds: float) -> None:
        """Release the lease and park the run as queued until ``not_before`` (retry backoff)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            self._fence(conn, run_id, attempt, now)
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    status=RunStatus.QUEUED.value,
                    lease_owner=None,
                    not_before=not_before,
                    lease_expires_at=not_before + timedelta(seconds=grace_seconds),
                )
            )

    def set_waiting(
        self,
        run_id: str,
        *,
        attempt: int,
        key: str,
        reason: str,
        deadline: datetime,
        owner_id: str,
        step_id: str,
        message: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> RunEvent:
        """Park the run until ``resume(run_id, key, …)`` or ``deadline``; appends ``waiting_for_owner``
        (with ``message``, default ``reason``, and extra event ``data``)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            seq = self._fence(conn, run_id, attempt, now, events=1)
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    status=RunStatus.WAITING_FOR_OWNER.value,
                    lease_owner=None,
                    lease_expires_at=None,
                    wait_key=key,
                    wait_reason=reason,
                    wait_deadline=deadline,
                )
            )
            conn.execute(
                steps.update()
                .where(steps.c.run_id == run_id, steps.c.step_id == step_id)
                .values(status="pending", attempt=attempt)
            )
            return self._insert_event(
                conn,
                run_id,
                owner_id,
                RunEventKind.WAITING_FOR_OWNER,
                message or reason,
                step_id=step_id,
                data={"key": key, "deadline": deadline.isoformat(), **(data or {})},
                now=now,
                seq=seq,
            )

    def resume(self, run_id: str, *, key: str, payload: Mapping[str, Any]) -> bool:
        """Deliver the owner's input to a waiting run and make it queued again; False if not waiting on ``key``."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            result = conn.execute(
                runs.update()
                .where(
                    runs.c.id == run_id,
                    runs.c.status == RunStatus.WAITING_FOR_OWNER.value,
                    runs.c.wait_key == key,
                )
                .values(
                    status=RunStatus.QUEUED.value,
                    wait_key=None,
                    wait_reason=None,
                    wait_deadline=None,
                    lease_expires_at=now + self._pickup_grace,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                return False
            conn.execute(
                steps.update()
                .where(steps.c.run_id == run_id, steps.c.step_id == key)
                .values(owner_input=_dumps(payload))
            )
            return True

    def finish(
        self,
        run_id: str,
        *,
        attempt: int,
        status: RunStatus,
        kind: RunEventKind,
        message: str,
        owner_id: str,
        summary: str | None = None,
        error: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> RunEvent:
        """Move the run to a terminal status (never overwriting one) and append the terminal event."""
        if status not in _TERMINAL:
            raise ValueError(f"{status} is not terminal")
        now = self._clock.now()
        with self._engine.begin() as conn:
            seq = self._fence(conn, run_id, attempt, now, events=1)
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    status=status.value,
                    summary=summary,
                    error=error,
                    lease_owner=None,
                    lease_expires_at=None,
                    wait_key=None,
                    wait_deadline=None,
                    finished_at=now,
                )
            )
            return self._insert_event(conn, run_id, owner_id, kind, message, data=data, now=now, seq=seq)

    # ----------------------------------------------------------------------------------------- reaper
    def due_for_recovery(self, *, limit: int = 100) -> list[str]:
        """Runs a worker should look at now: lost queue messages, expired leases, wait deadlines passed."""
        now = self._clock.now()
        lease_lapsed = sa.and_(
            runs.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
            runs.c.lease_expires_at.is_not(None),
            runs.c.lease_expires_at < now,
        )
        wait_lapsed = sa.and_(
            runs.c.status == RunStatus.WAITING_FOR_OWNER.value,
            runs.c.wait_deadline.is_not(None),
            runs.c.wait_deadline < now,
        )
        query = sa.select(runs.c.id).where(sa.or_(lease_lapsed, wait_lapsed)).order_by(runs.c.updated_at).limit(limit)
        with self._engine.connect() as conn:
            return [r.id for r in conn.execute(query)]

    def mark_reaped(self, run_id: str, *, grace_seconds: float) -> bool:
        """After re-enqueueing: give the run a fresh pick-up deadline so one reaper acts once per period.

        A running run whose lease lapsed (its worker died) goes back to queued with no lease owner, counted as
        a recovery; the dead worker, if it was only slow, fails its next heartbeat and fenced write.
        """
        now = self._clock.now()
        lapsed = sa.and_(
            runs.c.id == run_id,
            runs.c.status.in_([RunStatus.QUEUED.value, RunStatus.RUNNING.value]),
            runs.c.lease_expires_at < now,
        )
        with self._engine.begin() as conn:
            row = self._select_run(conn, run_id)
            if row is None:
                return False
            if row.status == RunStatus.WAITING_FOR_OWNER:  # deadline passed: a worker claims and times it out
                return row.wait_deadline is not None and row.wait_deadline < now
            values: dict[str, Any] = {"lease_expires_at": now + timedelta(seconds=grace_seconds)}
            if row.status == RunStatus.RUNNING:
                values.update(status=RunStatus.QUEUED.value, lease_owner=None, recoveries=row.recoveries + 1)
            result = conn.execute(runs.update().where(lapsed, runs.c.attempt == row.attempt).values(**values))
            return result.rowcount == 1
