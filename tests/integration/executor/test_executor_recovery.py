"""Lease recovery at the runner level: the recovery cap, and a worker that lost its lease mid-step."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from executor_counting_service import CountingService
from sqlalchemy.engine import Engine

from core.commands import Channel, ReplyRoute
from core.events import RunEvent, RunEventKind
from core.intents import ConsentTier
from core.ports import ConsentDeclaration, RunStatus
from executor.demo import demo_recipes
from executor.journal import SystemClock, TokenIds
from executor.recipe import Recipe, RecipeRegistry, Step, StepContext, StepResult
from executor.runner import Runner
from executor.schema import SCHEMA, runs
from executor.worker import Executor, build_executor
from gateway.db import create_schema

ROUTE = ReplyRoute(channel=Channel.CLI)


def _executor(engine: Engine, tmp_path: Path, registry: RecipeRegistry, **kw: object) -> Executor:
    create_schema(engine, [SCHEMA])
    return build_executor(
        engine=engine,
        clock=SystemClock(),
        ids=TokenIds(),
        recipes=registry,
        queue_path=tmp_path / "queue.db",
        worker_id="worker-a",
        **kw,  # type: ignore[arg-type]
    )


def test_a_run_interrupted_too_often_is_failed_for_a_person(
    sqlite_engine: Engine, tmp_path: Path, counting: CountingService
) -> None:
    ex = _executor(sqlite_engine, tmp_path, RecipeRegistry(demo_recipes()), max_recoveries=2)
    run_id = ex.journal.create_run(
        owner_id="o", recipe="demo.counting", params={"base_url": counting.url}, consent_id=None, reply_route=ROUTE
    ).id
    for i in range(3):  # three workers claim it and "die" (their leases lapse)
        row = ex.journal.claim(run_id, worker=f"dead-{i}", lease_seconds=30)
        assert row is not None
        if i == 0:  # the first one died right after creating the key, before journaling it as done
            ex.journal.step_started(run_id, attempt=row.attempt, step_id="key", event_message="API key", owner_id="o")
            httpx.post(f"{counting.url}/objects/key", json={}, headers={"Idempotency-Key": f"{run_id}:key"})
        with sqlite_engine.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    ex.runner.execute(run_id)
    row = ex.journal.run_row(run_id)
    assert (row.status, row.recoveries) == (RunStatus.COMPENSATED, 3)
    final = ex.journal.events(run_id)[-1]
    assert final.kind == RunEventKind.COMPENSATED and final.data["code"] == "too_many_recoveries"
    assert "https://omniops.dev/guides/demo" in final.message
    assert counting.creates["key"] == 1 and counting.live("key") == 0  # verify found the orphan; it was undone


def test_a_worker_that_lost_its_lease_mid_step_cannot_write(sqlite_engine: Engine, tmp_path: Path) -> None:
    release = threading.Event()
    entered = threading.Event()
    calls: list[str] = []

    def slow_once(ctx: StepContext) -> StepResult:
        calls.append(ctx.idempotency_key)
        if len(calls) == 1:
            entered.set()
            release.wait(20)
        return StepResult(summary="done")

    declaration = ConsentDeclaration(
        action="t", service="t", permissions=(), data_access=(), duration="one-time", tier=ConsentTier.NONE
    )
    registry = RecipeRegistry(
        [Recipe(name="t.slow", intent="t", declaration=declaration, steps=(Step(id="s", title="Slow", run=slow_once),))]
    )
    ex = _executor(sqlite_engine, tmp_path, registry)
    run_id = ex.journal.create_run(owner_id="o", recipe="t.slow", params={}, consent_id=None, reply_route=ROUTE).id

    first = threading.Thread(target=ex.runner.execute, args=(run_id,))
    first.start()
    assert entered.wait(10)
    with sqlite_engine.begin() as conn:  # the first worker stalls past its lease
        conn.execute(
            runs.update().where(runs.c.id == run_id).values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    second = Runner(
        journal=ex.journal, queue=ex.queue, recipes=registry, bus=ex.bus, clock=SystemClock(), worker_id="worker-b"
    )
    second.execute(run_id)
    assert ex.journal.get_run(run_id).status == RunStatus.SUCCEEDED
    release.set()
    first.join(10)
    assert not first.is_alive()  # it returned quietly on StaleAttempt
    events = ex.journal.events(run_id)
    assert [e.kind for e in events].count(RunEventKind.STEP_DONE) == 1
    assert [e.kind for e in events].count(RunEventKind.SUCCEEDED) == 1
    assert calls == [f"{run_id}:s", f"{run_id}:s"]  # both attempts used the same idempotency key
    with sqlite_engine.connect() as conn:
        assert conn.execute(sa.select(runs.c.attempt, runs.c.lease_owner).where(runs.c.id == run_id)).one() == (2, None)


class RecordingNotifier:
    """``Notifier`` port that records run events with their reply route."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def send_consent_link(self, **_: object) -> None:
        raise NotImplementedError

    def run_event(self, event: RunEvent, route: ReplyRoute) -> None:
        self.events.append((event.kind.value, route.to or ""))


def test_notifier_hook_gets_every_event_with_the_reply_route(sqlite_engine: Engine, tmp_path: Path) -> None:
    notifier = RecordingNotifier()
    ex = _executor(sqlite_engine, tmp_path, RecipeRegistry(demo_recipes()), notifier=notifier)
    route = ReplyRoute(channel=Channel.SMS, to="+15550100")
    record = ex.runner.submit(owner_id="o", recipe="demo.noop", params={}, consent_id=None, reply_route=route)
    ex.runner.execute(record.id)
    assert notifier.events == [
        ("queued", "+15550100"),
        ("started", "+15550100"),
        ("step_started", "+15550100"),
        ("step_done", "+15550100"),
        ("succeeded", "+15550100"),
    ]
