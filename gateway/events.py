"""The owner's live run events for the widget, read from the executor's persisted event table.

The journal is the one source of progress in both modes (SQLite embedded, PostgreSQL distributed), so this
`core.ports.EventStream` simply follows it: each `subscribe` returns the events after the cursor, waiting up
to a couple of seconds for new ones, and ends (the SSE layer subscribes again from the last id).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import RunEvent, RunEventKind
from core.ports import Clock
from executor.schema import run_events

REPLAY_WINDOW = timedelta(minutes=10)


class JournalEventStream:
    """`EventStream` over ``executor_run_events``, ordered by time, run and sequence."""

    def __init__(self, engine: Engine, *, clock: Clock, wait_seconds: float = 2.0, poll_seconds: float = 0.2) -> None:
        self._engine = engine
        self._clock = clock
        self._wait = wait_seconds
        self._poll = poll_seconds

    def _cursor(self, owner_id: str, after: str | None) -> tuple[object, str, int]:
        if after and ":" in after:
            run_id, _, seq = after.rpartition(":")
            with self._engine.connect() as conn:
                row = conn.execute(
                    sa.select(run_events.c.at).where(
                        run_events.c.run_id == run_id,
                        run_events.c.owner_id == owner_id,
                        run_events.c.seq == int(seq) if seq.isdigit() else sa.false(),
                    )
                ).first()
            if row is not None:
                return row.at, run_id, int(seq)
        return self._clock.now() - REPLAY_WINDOW, "", -1

    def subscribe(self, owner_id: str, *, after: str | None = None) -> Iterator[RunEvent]:
        at, run_id, seq = self._cursor(owner_id, after)
        deadline = time.monotonic() + self._wait
        while True:
            after_cursor = sa.or_(
                run_events.c.at > at,
                sa.and_(run_events.c.at == at, run_events.c.run_id > run_id),
                sa.and_(run_events.c.at == at, run_events.c.run_id == run_id, run_events.c.seq > seq),
            )
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(run_events)
                    .where(run_events.c.owner_id == owner_id, after_cursor)
                    .order_by(run_events.c.at, run_events.c.run_id, run_events.c.seq)
                    .limit(200)
                ).all()
            for row in rows:
                yield RunEvent(
                    run_id=row.run_id,
                    owner_id=row.owner_id,
                    seq=row.seq,
                    kind=RunEventKind(row.kind),
                    message=row.message,
                    at=row.at,
                    step_id=row.step_id,
                    data=json.loads(row.data or "{}"),
                )
                at, run_id, seq = row.at, row.run_id, row.seq
            if rows or time.monotonic() >= deadline:
                return
            time.sleep(self._poll)
