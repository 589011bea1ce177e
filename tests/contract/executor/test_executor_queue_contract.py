"""Queue contract: the same suite on SqliteHuey and RedisHuey (real Redis via ``redis_url``/``redis_prefix``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.queue import TASK_NAME, HueyQueue, JsonSerializer, make_huey, reap


@pytest.fixture(params=["sqlite", "redis"])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HueyQueue]:
    if request.param == "sqlite":
        huey = make_huey(name="contract", sqlite_path=tmp_path / "queue.db")
    else:
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        huey = make_huey(name=prefix.replace("-", "_"), redis_url=url)
    q = HueyQueue(huey)
    yield q
    q.flush()


def drain(q: HueyQueue, seen: list[str], *, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not q.work_once():
            break


def test_enqueue_delivers_the_run_id_once(queue: HueyQueue) -> None:
    seen: list[str] = []
    queue.bind(seen.append)
    queue.enqueue("run_a")
    queue.enqueue("run_b")
    assert queue.pending() == 2
    drain(queue, seen)
    assert seen == ["run_a", "run_b"]
    assert queue.work_once() is False


def test_messages_are_json_with_only_the_run_id(queue: HueyQueue) -> None:
    queue.enqueue("run_json")
    raw = queue.huey.storage.enqueued_items()
    assert len(raw) == 1
    message = json.loads(raw[0])  # plain JSON, not pickle
    assert message["m"]["name"].endswith(TASK_NAME)
    assert message["m"]["args"] == ["run_json"]
    assert message["m"]["kwargs"] == {"d": {}}


def test_delayed_enqueue_waits_for_its_time(queue: HueyQueue) -> None:
    seen: list[str] = []
    queue.bind(seen.append)
    queue.enqueue("run_later", delay_seconds=1.5)
    assert queue.work_once() is True  # dequeued early: moved to the schedule, not run
    assert seen == []
    assert queue.promote_scheduled() == 0
    time.sleep(1.6)
    assert queue.promote_scheduled() == 1
    drain(queue, seen)
    assert seen == ["run_later"]


def test_serializer_refuses_anything_but_json() -> None:
    serializer = JsonSerializer()
    assert serializer.deserialize(serializer.serialize({"a": [1, "x", None]})) == {"a": [1, "x", None]}
    with pytest.raises(TypeError):
        serializer.serialize({"a": object()})


def test_enqueue_only_process_refuses_to_execute(queue: HueyQueue) -> None:
    queue.enqueue("run_x")
    task = queue.huey.dequeue()
    with pytest.raises(RuntimeError):
        task.execute()


class _Due:
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.marked: list[str] = []

    def due_for_recovery(self, *, limit: int = 100) -> list[str]:
        return list(self.ids)

    def mark_reaped(self, run_id: str, *, grace_seconds: float) -> bool:
        self.marked.append(run_id)
        return run_id != "run_taken"  # another reaper already handled this one


def test_reap_re_enqueues_due_runs_it_won(queue: HueyQueue) -> None:
    seen: list[str] = []
    queue.bind(seen.append)
    due = _Due(["run_1", "run_taken", "run_2"])
    assert reap(due, queue, grace_seconds=5) == ["run_1", "run_2"]
    drain(queue, seen)
    assert seen == ["run_1", "run_2"] and due.marked == ["run_1", "run_taken", "run_2"]
