"""Step-level fenced writes: started before a side effect, done after it, failed tries, compensation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.events import RunEvent, RunEventKind
from executor.journal.base import JournalBase
from executor.journal.records import StepRow, _dumps, _step
from executor.schema import steps


class StepJournal(JournalBase):
    """Fenced writes of step rows (started, done, failed, compensated)."""

    # ----------------------------------------------------------------------------------------- fenced writes
    def step_started(
        self, run_id: str, *, attempt: int, step_id: str, event_message: str, owner_id: str, fresh: bool = False
    ) -> tuple[StepRow, RunEvent]:
        """Record that ``step_id`` is about to perform its side effect, with its ``step_started`` event.

        ``fresh``: the caller saw no row for this step (skips the update attempt; one round trip less).
        """
        now = self._clock.now()
        with self._engine.begin() as conn:
            seq = self._fence(conn, run_id, attempt, now, events=1)
            row = None
            if not fresh:
                row = conn.execute(
                    steps.update()
                    .where(steps.c.run_id == run_id, steps.c.step_id == step_id)
                    .values(status="started", attempt=attempt, next_retry_at=None, started_at=now)
                    .returning(*steps.c)
                ).first()
            if row is None:
                row = conn.execute(
                    steps.insert()
                    .values(
                        run_id=run_id,
                        step_id=step_id,
                        status="started",
                        attempt=attempt,
                        tries=0,
                        idempotency_key=f"{run_id}:{step_id}",
                        started_at=now,
                    )
                    .returning(*steps.c)
                ).one()
            event = self._insert_event(
                conn, run_id, owner_id, RunEventKind.STEP_STARTED, event_message, step_id=step_id, now=now, seq=seq
            )
        return _step(row), event

    def step_done(
        self,
        run_id: str,
        *,
        attempt: int,
        step_id: str,
        summary: str,
        external_ids: Mapping[str, str],
        output: Mapping[str, Any],
        event_message: str,
        owner_id: str,
    ) -> tuple[RunEvent, bool]:
        """Mark the step done and append its ``step_done`` event; also returns whether cancel was requested."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            seq, cancel = self._fence_row(conn, run_id, attempt, now, events=1)
            conn.execute(
                steps.update()
                .where(steps.c.run_id == run_id, steps.c.step_id == step_id)
                .values(
                    status="done",
                    attempt=attempt,
                    summary=summary,
                    external_ids=_dumps(external_ids),
                    output=_dumps(output),
                    error=None,
                    finished_at=now,
                )
            )
            event = self._insert_event(
                conn,
                run_id,
                owner_id,
                RunEventKind.STEP_DONE,
                event_message,
                step_id=step_id,
                data={"external_ids": dict(external_ids)},
                now=now,
                seq=seq,
            )
        return event, cancel

    def step_failed(
        self,
        run_id: str,
        *,
        attempt: int,
        step_id: str,
        error: str,
        tries: int,
        next_retry_at: datetime | None,
    ) -> None:
        """Record a failed try (``next_retry_at`` set: will retry; None: failed for good)."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            self._fence(conn, run_id, attempt, now)
            conn.execute(
                steps.update()
                .where(steps.c.run_id == run_id, steps.c.step_id == step_id)
                .values(
                    status="pending" if next_retry_at is not None else "failed",
                    attempt=attempt,
                    tries=tries,
                    next_retry_at=next_retry_at,
                    error=error,
                    finished_at=None if next_retry_at is not None else now,
                )
            )

    def step_compensated(
        self, run_id: str, *, attempt: int, step_id: str, event_message: str, owner_id: str
    ) -> RunEvent:
        """Mark a done step as undone and append a progress event for it."""
        now = self._clock.now()
        with self._engine.begin() as conn:
            seq = self._fence(conn, run_id, attempt, now, events=1)
            conn.execute(
                steps.update()
                .where(steps.c.run_id == run_id, steps.c.step_id == step_id)
                .values(status="compensated", attempt=attempt, finished_at=now)
            )
            return self._insert_event(
                conn,
                run_id,
                owner_id,
                RunEventKind.STEP_DONE,
                event_message,
                step_id=step_id,
                data={"compensation": True},
                now=now,
                seq=seq,
            )
