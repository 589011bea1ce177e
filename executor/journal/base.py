"""Journal primitives: the fencing UPDATE (attempt check, row lock, event sequence) and event inserts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.errors import StaleAttempt
from core.events import RunEvent, RunEventKind
from core.ports import Clock, Ids
from executor.journal.records import RunRow, _dumps, _run_row
from executor.recipe import RecipeRegistry
from executor.schema import run_events, runs


class JournalBase:
    """Engine, clock and ids, plus the fence and event-append primitives every write uses."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        ids: Ids,
        *,
        recipes: RecipeRegistry | None = None,
        pickup_grace_seconds: float = 30.0,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._ids = ids
        self._recipes = recipes
        self._pickup_grace = timedelta(seconds=pickup_grace_seconds)  # a queued run unclaimed this long: re-enqueue

    # ----------------------------------------------------------------------------------------- internals
    def _fence(self, conn: Connection, run_id: str, attempt: int, now: datetime, *, events: int = 0) -> int:
        """Check the fencing token and lock the run row; allocate ``events`` sequence numbers (returns the last)."""
        return self._fence_row(conn, run_id, attempt, now, events=events)[0]

    def _fence_row(
        self, conn: Connection, run_id: str, attempt: int, now: datetime, *, events: int = 0
    ) -> tuple[int, bool]:
        result = conn.execute(
            runs.update()
            .where(runs.c.id == run_id, runs.c.attempt == attempt)
            .values(updated_at=now, last_seq=runs.c.last_seq + events)
            .returning(runs.c.last_seq, runs.c.cancel_requested)
        ).first()
        if result is None:
            raise StaleAttempt("another worker owns this run now")
        return int(result[0]), bool(result[1])

    def _select_run(self, conn: Connection, run_id: str) -> RunRow | None:
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
        return _run_row(row) if row is not None else None

    def _insert_event(
        self,
        conn: Connection,
        run_id: str,
        owner_id: str,
        kind: RunEventKind,
        message: str,
        *,
        now: datetime,
        seq: int,
        step_id: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> RunEvent:
        conn.execute(
            run_events.insert().values(
                run_id=run_id,
                seq=seq,
                owner_id=owner_id,
                kind=kind.value,
                message=message,
                step_id=step_id,
                data=_dumps(data),
                at=now,
            )
        )
        return RunEvent(
            run_id=run_id,
            owner_id=owner_id,
            seq=seq,
            kind=kind,
            message=message,
            at=now,
            step_id=step_id,
            data=json.loads(_dumps(data)),
        )
