"""Run-event delivery: every event is persisted by the journal first, then published live.

``EventBus`` is the port. :class:`InProcessEventBus` serves embedded mode (one process: gateway plus worker
threads) with a ``threading.Condition``; :class:`RedisEventBus` serves distributed mode over Redis pub/sub.
Both subscribers replay from the journal first, then follow live events, de-duplicated by ``seq``, and both
fall back to polling the journal, so an event published by another process is never missed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from core.events import RunEvent

log = logging.getLogger(__name__)

Listener = Callable[[RunEvent], None]


class EventSource(Protocol):
    """Where persisted events are replayed from (the journal)."""

    def events(self, run_id: str, *, after_seq: int = -1) -> Sequence[RunEvent]: ...


class EventBus(Protocol):
    """Publish persisted run events live; subscribe to one run's story with replay."""

    def publish(self, event: RunEvent) -> None: ...

    def add_listener(self, listener: Listener) -> None: ...

    def subscribe(self, run_id: str, *, after_seq: int = -1, timeout: float | None = None) -> Iterator[RunEvent]: ...


class _BusBase:
    def __init__(self, source: EventSource, *, poll_seconds: float) -> None:
        self._source = source
        self._poll = poll_seconds
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event this process publishes (e.g. a notifier hook)."""
        self._listeners.append(listener)

    def _notify(self, event: RunEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must never break a run
                log.exception("run event listener failed for %s seq %s", event.run_id, event.seq)

    def _replay_then_follow(
        self, run_id: str, after_seq: int, timeout: float | None, wait: Callable[[float], list[RunEvent]]
    ) -> Iterator[RunEvent]:
        deadline = None if timeout is None else time.monotonic() + timeout
        last = after_seq
        while True:
            fresh = [e for e in self._source.events(run_id, after_seq=last)]
            for event in fresh:
                last = event.seq
                yield event
                if event.kind.terminal:
                    return
            remaining = self._poll if deadline is None else min(self._poll, deadline - time.monotonic())
            if remaining <= 0:
                return
            for event in sorted(wait(remaining), key=lambda e: e.seq):
                if event.run_id != run_id or event.seq <= last:
                    continue
                if event.seq != last + 1:  # a gap: let the journal fill it in order
                    break
                last = event.seq
                yield event
                if event.kind.terminal:
                    return


class InProcessEventBus(_BusBase):
    """Embedded mode: live delivery inside one process, replay from the journal."""

    def __init__(self, source: EventSource, *, poll_seconds: float = 1.0) -> None:
        super().__init__(source, poll_seconds=poll_seconds)
        self._cond = threading.Condition()
        self._generation = 0

    def publish(self, event: RunEvent) -> None:
        """Wake subscribers (they read the journal) and call listeners."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
        self._notify(event)

    def subscribe(self, run_id: str, *, after_seq: int = -1, timeout: float | None = None) -> Iterator[RunEvent]:
        """Replay the run's events after ``after_seq``, then follow until a terminal event or ``timeout``."""
        with self._cond:
            seen = [self._generation]

        def wait(seconds: float) -> list[RunEvent]:
            with self._cond:
                if self._generation == seen[0]:
                    self._cond.wait(seconds)
                seen[0] = self._generation
            return []  # woken: the caller re-reads the journal, which has every event in order

        return self._replay_then_follow(run_id, after_seq, timeout, wait)


class RedisEventBus(_BusBase):
    """Distributed mode: Redis pub/sub on ``<prefix>:run:<run_id>``, replay from the journal."""

    def __init__(self, source: EventSource, *, url: str, prefix: str = "omniops", poll_seconds: float = 1.0) -> None:
        import redis

        super().__init__(source, poll_seconds=poll_seconds)
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def channel(self, run_id: str) -> str:
        """The pub/sub channel of one run."""
        return f"{self._prefix}:run:{run_id}"

    def publish(self, event: RunEvent) -> None:
        """Publish the event JSON (summaries only, never secrets) and call local listeners."""
        try:
            self._redis.publish(self.channel(event.run_id), event.model_dump_json())
        except Exception:  # the journal already has it; subscribers poll as a fallback
            log.exception("could not publish run event %s seq %s to Redis", event.run_id, event.seq)
        self._notify(event)

    def subscribe(self, run_id: str, *, after_seq: int = -1, timeout: float | None = None) -> Iterator[RunEvent]:
        """Subscribe first, replay from the journal, then follow live until terminal or ``timeout``."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(self.channel(run_id))

        def wait(seconds: float) -> list[RunEvent]:
            out: list[RunEvent] = []
            message: Any = pubsub.get_message(timeout=seconds)
            while message is not None:
                if message.get("type") == "message":
                    out.append(RunEvent.model_validate(json.loads(message["data"])))
                message = pubsub.get_message(timeout=0)
            return out

        def stream() -> Iterator[RunEvent]:
            try:
                yield from self._replay_then_follow(run_id, after_seq, timeout, wait)
            finally:
                pubsub.close()

        return stream()

    def close(self) -> None:
        """Close the Redis connection pool."""
        self._redis.close()
