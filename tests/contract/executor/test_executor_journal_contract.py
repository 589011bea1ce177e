"""Journal contract: the same suite on real SQLite and real PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from core.commands import Channel, ReplyRoute
from core.errors import Conflict, StaleAttempt
from core.events import RunEventKind
from core.ports import RunStatus
from executor.demo import demo_recipes
from executor.journal import SqlJournal, TokenIds
from executor.recipe import RecipeRegistry
from executor.schema import SCHEMA
from gateway.db import create_schema

ROUTE = ReplyRoute(channel=Channel.SMS, to="+15550100")


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def journal(engine: Engine, clock: FakeClock) -> SqlJournal:
    create_schema(engine, [SCHEMA])
    return SqlJournal(engine, clock, TokenIds(), recipes=RecipeRegistry(demo_recipes()), pickup_grace_seconds=2)


def new_run(journal: SqlJournal, owner: str = "owner_1") -> str:
    return journal.create_run(
        owner_id=owner, recipe="demo.counting", params={"base_url": "http://x"}, consent_id="c1", reply_route=ROUTE
    ).id


def test_create_run_round_trips_and_records_a_queued_event(journal: SqlJournal) -> None:
    record = journal.create_run(
        owner_id="owner_1",
        recipe="demo.counting",
        params={"base_url": "http://x", "n": 3},
        consent_id="c1",
        reply_route=ROUTE,
        locale="de-DE",
    )
    got = journal.get_run(record.id)
    assert got == record
    assert (got.status, got.attempt, got.params, got.reply_route, got.locale) == (
        RunStatus.QUEUED,
        0,
        {"base_url": "http://x", "n": 3},
        ROUTE,
        "de-DE",
    )
    recipe = RecipeRegistry(demo_recipes()).get("demo.counting")
    assert got.params_hash == recipe.params_hash({"base_url": "http://x", "n": 3})
    assert [(e.seq, e.kind) for e in journal.events(record.id)] == [(0, RunEventKind.QUEUED)]
    assert got.created_at.tzinfo is not None


def test_latest_run_and_active_only(journal: SqlJournal, clock: FakeClock) -> None:
    first = new_run(journal)
    clock.advance(1)
    second = new_run(journal)
    row = journal.claim(second, worker="w", lease_seconds=30)
    journal.finish(
        second,
        attempt=row.attempt,
        status=RunStatus.SUCCEEDED,
        kind=RunEventKind.SUCCEEDED,
        message="ok",
        owner_id="owner_1",
    )
    assert journal.latest_run("owner_1").id == second
    assert journal.latest_run("owner_1", active_only=True).id == first
    assert journal.latest_run("nobody") is None


def test_claim_is_compare_and_set_on_attempt(journal: SqlJournal) -> None:
    run_id = new_run(journal)
    row = journal.claim(run_id, worker="a", lease_seconds=30)
    assert (row.attempt, row.status, row.lease_owner) == (1, RunStatus.RUNNING, "a")
    assert journal.claim(run_id, worker="b", lease_seconds=30) is None  # live lease


def test_concurrent_claims_have_exactly_one_winner(journal: SqlJournal) -> None:
    run_id = new_run(journal)
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def claim(name: str) -> None:
        barrier.wait()
        if journal.claim(run_id, worker=name, lease_seconds=30) is not None:
            winners.append(name)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert journal.run_row(run_id).attempt == 1


def test_expired_lease_is_recovered_and_the_old_attempt_is_fenced_out(journal: SqlJournal, clock: FakeClock) -> None:
    run_id = new_run(journal)
    old = journal.claim(run_id, worker="a", lease_seconds=2)
    journal.step_started(run_id, attempt=old.attempt, step_id="key", event_message="API key", owner_id="owner_1")
    clock.advance(3)
    new = journal.claim(run_id, worker="b", lease_seconds=2)
    assert (new.attempt, new.recoveries, new.lease_owner) == (2, 1, "b")
    with pytest.raises(StaleAttempt):
        journal.step_done(
            run_id,
            attempt=old.attempt,
            step_id="key",
            summary="x",
            external_ids={},
            output={},
            event_message="x",
            owner_id="owner_1",
        )
    with pytest.raises(StaleAttempt):
        journal.renew(run_id, attempt=old.attempt, worker="a", lease_seconds=2)
    with pytest.raises(StaleAttempt):
        journal.finish(
            run_id,
            attempt=old.attempt,
            status=RunStatus.FAILED,
            kind=RunEventKind.FAILED,
            message="x",
            owner_id="owner_1",
        )
    step = journal.step_rows(run_id)["key"]
    assert (step.status, step.idempotency_key) == ("started", f"{run_id}:key")  # the stale write changed nothing


def test_renew_extends_the_lease(journal: SqlJournal, clock: FakeClock) -> None:
    run_id = new_run(journal)
    row = journal.claim(run_id, worker="a", lease_seconds=2)
    clock.advance(1.5)
    journal.renew(run_id, attempt=row.attempt, worker="a", lease_seconds=2)
    clock.advance(1.5)
    assert journal.claim(run_id, worker="b", lease_seconds=2) is None


def test_step_lifecycle_and_retry_state(journal: SqlJournal, clock: FakeClock) -> None:
    run_id = new_run(journal)
    row = journal.claim(run_id, worker="a", lease_seconds=30)
    step, event = journal.step_started(run_id, attempt=1, step_id="key", event_message="API key", owner_id="owner_1")
    assert (step.status, event.kind, event.seq) == ("started", RunEventKind.STEP_STARTED, 1)
    retry_at = clock.now() + timedelta(seconds=5)
    journal.step_failed(run_id, attempt=1, step_id="key", error="busy", tries=1, next_retry_at=retry_at)
    journal.requeue(run_id, attempt=row.attempt, not_before=retry_at, grace_seconds=30)
    assert journal.claim(run_id, worker="b", lease_seconds=30) is None  # backoff not over
    clock.advance(6)
    row = journal.claim(run_id, worker="b", lease_seconds=30)
    assert (row.attempt, row.recoveries) == (2, 0)  # a requeue is not a crash recovery
    state = journal.step_rows(run_id)["key"]
    assert (state.status, state.tries, state.next_retry_at, state.error) == ("pending", 1, retry_at, "busy")
    done, cancel = journal.step_done(
        run_id,
        attempt=2,
        step_id="key",
        summary="API key created",
        external_ids={"key": "k_1"},
        output={"id": "k_1"},
        event_message="API key created",
        owner_id="owner_1",
    )
    assert (done.kind, cancel) == (RunEventKind.STEP_DONE, False)
    state = journal.step_rows(run_id)["key"]
    assert (state.status, state.external_ids, state.output) == ("done", {"key": "k_1"}, {"id": "k_1"})
    journal.step_compensated(run_id, attempt=2, step_id="key", event_message="Undone", owner_id="owner_1")
    assert journal.step_rows(run_id)["key"].status == "compensated"


def test_terminal_status_is_never_overwritten(journal: SqlJournal, clock: FakeClock) -> None:
    run_id = new_run(journal)
    row = journal.claim(run_id, worker="a", lease_seconds=1)
    journal.finish(
        run_id,
        attempt=row.attempt,
        status=RunStatus.SUCCEEDED,
        kind=RunEventKind.SUCCEEDED,
        message="ok",
        owner_id="owner_1",
        summary="ok",
    )
    clock.advance(10)
    assert journal.claim(run_id, worker="b", lease_seconds=1) is None
    assert journal.due_for_recovery() == []
    with pytest.raises(Conflict):
        journal.request_cancel(run_id)
    assert journal.get_run(run_id).summary == "ok"


def test_cancel_flag(journal: SqlJournal) -> None:
    run_id = new_run(journal)
    assert journal.request_cancel(run_id).cancel_requested is True


def test_waiting_resume_and_deadline(journal: SqlJournal, clock: FakeClock) -> None:
    run_id = new_run(journal)
    row = journal.claim(run_id, worker="a", lease_seconds=30)
    journal.step_started(run_id, attempt=1, step_id="approve", event_message="x", owner_id="owner_1")
    event = journal.set_waiting(
        run_id,
        attempt=row.attempt,
        key="approve",
        reason="Approve in the browser",
        deadline=clock.now() + timedelta(seconds=60),
        owner_id="owner_1",
        step_id="approve",
    )
    assert event.kind == RunEventKind.WAITING_FOR_OWNER
    assert journal.get_run(run_id).status == RunStatus.WAITING_FOR_OWNER
    assert journal.claim(run_id, worker="b", lease_seconds=30) is None  # parked
    assert journal.resume(run_id, key="other", payload={}) is False
    assert journal.resume(run_id, key="approve", payload={"code": "abc"}) is True
    assert journal.resume(run_id, key="approve", payload={"code": "again"}) is False  # once
    assert journal.step_rows(run_id)["approve"].owner_input == {"code": "abc"}
    assert journal.claim(run_id, worker="b", lease_seconds=30).attempt == 2

    other = new_run(journal)
    row = journal.claim(other, worker="a", lease_seconds=30)
    journal.step_started(other, attempt=1, step_id="approve", event_message="x", owner_id="owner_1")
    journal.set_waiting(
        other,
        attempt=1,
        key="approve",
        reason="r",
        deadline=clock.now() + timedelta(seconds=5),
        owner_id="owner_1",
        step_id="approve",
    )
    clock.advance(6)
    assert other in journal.due_for_recovery()
    assert journal.claim(other, worker="b", lease_seconds=30).status == RunStatus.WAITING_FOR_OWNER


def test_reaper_finds_lost_messages_and_expired_leases_once_per_period(journal: SqlJournal, clock: FakeClock) -> None:
    lost = new_run(journal)  # queued, its message never consumed
    crashed = new_run(journal)
    journal.claim(crashed, worker="a", lease_seconds=2)
    assert journal.due_for_recovery() == []
    clock.advance(3)
    assert set(journal.due_for_recovery()) == {lost, crashed}
    assert journal.mark_reaped(lost, grace_seconds=10) is True
    assert journal.mark_reaped(lost, grace_seconds=10) is False  # a second reaper in the same period loses
    assert journal.due_for_recovery() == [crashed]
    assert journal.mark_reaped(crashed, grace_seconds=10) is True
    row = journal.run_row(crashed)
    assert (row.status, row.lease_owner, row.recoveries, row.attempt) == (RunStatus.QUEUED, None, 1, 1)
    with pytest.raises(StaleAttempt):  # the dead (or merely slow) worker cannot renew any more
        journal.renew(crashed, attempt=1, worker="a", lease_seconds=2)
    assert journal.due_for_recovery() == []
    assert journal.claim(crashed, worker="b", lease_seconds=2).attempt == 2


def test_event_sequence_is_gapless_under_concurrent_writers(journal: SqlJournal) -> None:
    run_id = new_run(journal)
    row = journal.claim(run_id, worker="a", lease_seconds=30)

    def write(i: int) -> None:
        for j in range(5):
            journal.append_event(
                run_id, attempt=row.attempt, kind=RunEventKind.STEP_STARTED, message=f"{i}.{j}", owner_id="owner_1"
            )

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e.seq for e in journal.events(run_id)] == list(range(21))
    assert [e.seq for e in journal.events(run_id, after_seq=18)] == [19, 20]
