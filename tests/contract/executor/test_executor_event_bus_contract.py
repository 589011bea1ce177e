"""EventBus contract: replay from the journal, then live delivery, on the in-process bus and on Redis pub/sub.

Two bus instances share one journal, as a gateway process and a worker process would: events published on
one are seen by a subscriber on the other (Redis), or in the same process (in-process).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from core.commands import Channel, ReplyRoute
from core.events import RunEvent, RunEventKind
from core.ports import RunStatus
from executor.bus import EventBus, InProcessEventBus, RedisEventBus
from executor.journal import SqlJournal, SystemClock, TokenIds
from executor.schema import SCHEMA
from gateway.db import create_schema


@pytest.fixture
def journal(sqlite_engine: Engine) -> SqlJournal:
    create_schema(sqlite_engine, [SCHEMA])
    return SqlJournal(sqlite_engine, SystemClock(), TokenIds())


@pytest.fixture(params=["in_process", "redis"])
def buses(request: pytest.FixtureRequest, journal: SqlJournal) -> Iterator[tuple[EventBus, EventBus]]:
    if request.param == "in_process":
        bus = InProcessEventBus(journal, poll_seconds=60.0)
        yield bus, bus
        return
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    publisher = RedisEventBus(journal, url=url, prefix=prefix, poll_seconds=60.0)
    subscriber = RedisEventBus(journal, url=url, prefix=prefix, poll_seconds=60.0)
    yield publisher, subscriber
    publisher.close()
    subscriber.close()


def _run(journal: SqlJournal) -> tuple[str, int]:
    record = journal.create_run(
        owner_id="o", recipe="demo.noop", params={}, consent_id=None, reply_route=ReplyRoute(channel=Channel.CLI)
    )
    row = journal.claim(record.id, worker="w", lease_seconds=30)
    assert row is not None
    return record.id, row.attempt


def test_late_subscriber_replays_then_follows_live_until_terminal(
    buses: tuple[EventBus, EventBus], journal: SqlJournal
) -> None:
    publisher, subscriber = buses
    run_id, attempt = _run(journal)
    journal.append_event(run_id, attempt=attempt, kind=RunEventKind.STARTED, message="Started.", owner_id="o")
    received: queue.Queue[RunEvent] = queue.Queue()

    def listen() -> None:
        for event in subscriber.subscribe(run_id, timeout=30):
            received.put(event)

    thread = threading.Thread(target=listen)
    thread.start()
    assert [received.get(timeout=10).seq for _ in range(2)] == [0, 1]  # replayed from the journal
    steps = ((RunEventKind.STEP_STARTED, "Step"), (RunEventKind.STEP_DONE, "Step done"))
    for kind, message in steps:
        event = journal.append_event(run_id, attempt=attempt, kind=kind, message=message, owner_id="o")
        publisher.publish(event)
        # the journal poll is 60 s away: getting it now means it came live
        assert received.get(timeout=10) == event
    final = journal.finish(
        run_id, attempt=attempt, status=RunStatus.SUCCEEDED, kind=RunEventKind.SUCCEEDED, message="Done.", owner_id="o"
    )
    publisher.publish(final)
    assert received.get(timeout=10) == final
    thread.join(timeout=10)
    assert not thread.is_alive()  # the stream ended at the terminal event
    assert received.empty()


def test_after_seq_skips_what_the_listener_already_has(buses: tuple[EventBus, EventBus], journal: SqlJournal) -> None:
    _, subscriber = buses
    run_id, attempt = _run(journal)
    journal.finish(
        run_id, attempt=attempt, status=RunStatus.FAILED, kind=RunEventKind.FAILED, message="No.", owner_id="o"
    )
    assert [e.seq for e in subscriber.subscribe(run_id, after_seq=0, timeout=5)] == [1]


def test_listeners_see_every_published_event_and_a_broken_one_is_contained(
    buses: tuple[EventBus, EventBus], journal: SqlJournal
) -> None:
    publisher, _ = buses
    seen: list[int] = []

    def broken(event: RunEvent) -> None:
        raise RuntimeError("notifier down")

    publisher.add_listener(broken)
    publisher.add_listener(lambda e: seen.append(e.seq))
    run_id, attempt = _run(journal)
    publisher.publish(
        journal.append_event(run_id, attempt=attempt, kind=RunEventKind.STARTED, message="s", owner_id="o")
    )
    assert seen == [1]


def test_subscribe_times_out_without_a_terminal_event(buses: tuple[EventBus, EventBus], journal: SqlJournal) -> None:
    _, subscriber = buses
    run_id, _ = _run(journal)
    assert [e.kind.value for e in subscriber.subscribe(run_id, timeout=0.3)] == ["queued"]
