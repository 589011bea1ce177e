"""Huey transport: a thin, swappable queue carrying only run ids, as JSON.

``SqliteHuey`` (a file under ``var/``) by default, ``RedisHuey`` when a Redis URL is given. Huey delivers at
most once; the journal's leases plus :func:`reap` (run periodically by every worker) turn that into
at-least-once per run, and step idempotency makes side effects effectively-once.

Huey's default serializer is pickle; :class:`JsonSerializer` replaces it so a queue message is plain JSON
(``{"m": {"id": …, "name": "omniops.execute_run", "args": ["run_…"], …}}``) and nothing is ever unpickled.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.registry import Message
from huey.serializer import Serializer

from executor.periodic import Periodic

log = logging.getLogger(__name__)

TASK_NAME = "omniops.execute_run"


class JsonSerializer(Serializer):  # type: ignore[misc]
    """Huey serializer that speaks JSON only: messages, datetimes, plain data. No pickle, ever."""

    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_encode(data), separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        return _decode(json.loads(data))


def _encode(value: Any) -> Any:
    if isinstance(value, Message):
        return {"m": {k: _encode(v) for k, v in value._asdict().items()}}
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"d": {str(k): _encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"queue payloads are JSON only, not {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "m" in value:
            return Message(**{k: _decode(v) for k, v in value["m"].items()})
        if "dt" in value:
            return dt.datetime.fromisoformat(value["dt"])
        if "d" in value:
            return {k: _decode(v) for k, v in value["d"].items()}
    return value


def make_huey(*, name: str = "omniops", redis_url: str | None = None, sqlite_path: str | Path = "var/queue.db") -> Huey:
    """A Huey on Redis (distributed) when ``redis_url`` is set, else on a SQLite file (embedded)."""
    common: dict[str, Any] = {"results": False, "utc": True, "serializer": JsonSerializer()}
    if redis_url:
        return RedisHuey(name, url=redis_url, blocking=True, read_timeout=1, **common)
    path = Path(sqlite_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), **common)


class HueyQueue:
    """``core.ports.Queue`` on Huey. ``bind(handler)`` in worker processes; enqueue-only elsewhere."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._handler: Callable[[str], None] | None = None
        self._task = huey.task(name=TASK_NAME)(self._execute)

    @property
    def is_redis(self) -> bool:
        """True for the distributed (Redis) transport."""
        return isinstance(self.huey, RedisHuey)

    def bind(self, handler: Callable[[str], None]) -> None:
        """Set the function a dequeued run id is handed to (the runner's ``execute``)."""
        self._handler = handler

    def enqueue(self, run_id: str, *, delay_seconds: float = 0.0) -> None:
        """Put ``run_id`` (and nothing else) on the queue, optionally delayed."""
        if delay_seconds > 0:
            self._task.schedule(args=(run_id,), delay=delay_seconds)
        else:
            self._task(run_id)

    def pending(self) -> int:
        """Messages waiting to be dequeued (not counting delayed ones)."""
        return int(self.huey.pending_count())

    def work_once(self) -> bool:
        """Dequeue and handle one message; False if the queue was empty."""
        task = self.huey.dequeue()
        if task is None:
            return False
        self.huey.execute(task)  # schedules it instead when its eta is in the future
        return True

    def promote_scheduled(self) -> int:
        """Move delayed messages whose time has come back onto the queue."""
        tasks = self.huey.read_schedule()
        for task in tasks:
            self.huey.enqueue(task)
        return len(tasks)

    def flush(self) -> None:
        """Drop every message (tests and benchmarks)."""
        self.huey.flush()

    def _execute(self, run_id: str) -> None:
        if self._handler is None:
            raise RuntimeError("this queue has no handler bound (enqueue-only process)")
        self._handler(run_id)


class RecoverySource(Protocol):
    """What the reaper needs from the journal."""

    def due_for_recovery(self, *, limit: int = 100) -> list[str]: ...

    def mark_reaped(self, run_id: str, *, grace_seconds: float) -> bool: ...


def reap(journal: RecoverySource, queue: HueyQueue, *, grace_seconds: float) -> list[str]:
    """Re-enqueue runs whose lease or pick-up deadline lapsed, and waiting runs past their deadline."""
    enqueued = []
    for run_id in journal.due_for_recovery():
        if journal.mark_reaped(run_id, grace_seconds=grace_seconds):  # one reaper wins per period
            queue.enqueue(run_id)
            enqueued.append(run_id)
    if enqueued:
        log.info("reaper re-enqueued %d run(s)", len(enqueued))
    return enqueued


class Reaper(Periodic):
    """A daemon thread calling :func:`reap` every ``interval`` seconds until stopped."""

    def __init__(self, journal: RecoverySource, queue: HueyQueue, *, interval: float, grace_seconds: float) -> None:
        super().__init__(
            lambda: reap(journal, queue, grace_seconds=grace_seconds), interval=interval, name="omniops-reaper"
        )
