"""Server-sent events for the widget: an owner's `RunEvent`s from a `core.ports.EventStream`.

Each event leaves as ``id: <run_id>:<seq>`` / ``event: <kind>`` / ``data: <json>``, so a reconnecting
client sends ``Last-Event-ID`` and resumes after it. The stream's iterator is drained by a pump thread, so
heartbeat comments (``: keep-alive``) go out while it waits, and each connection lives at most ``lifetime``
seconds (the client reconnects). An iterator that ends is simply subscribed again after the last id.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from core.events import RunEvent
from core.ports import EventStream

log = logging.getLogger("omniops.sse")

HEARTBEAT_SECONDS = 15.0
LIFETIME_SECONDS = 300.0
RETRY_MS = 3000
_END = object()


def event_id(event: RunEvent) -> str:
    """The SSE id of a run event: ``<run_id>:<seq>``."""
    return f"{event.run_id}:{event.seq}"


def event_json(event: RunEvent) -> dict[str, Any]:
    """The JSON the widget receives for one run event (summaries only)."""
    body = event.model_dump(mode="json")
    body["id"] = event_id(event)
    return body


def format_event(event: RunEvent) -> str:
    """One SSE frame."""
    data = json.dumps(event_json(event), separators=(",", ":"))
    return f"id: {event_id(event)}\nevent: {event.kind}\ndata: {data}\n\n"


class _Pump:
    """Drain ``stream.subscribe`` into a queue on a daemon thread."""

    def __init__(self, stream: EventStream, owner_id: str, after: str | None, out: queue.Queue[Any]) -> None:
        self.stop = threading.Event()
        self._args = (stream, owner_id, after, out)
        self._thread = threading.Thread(target=self._run, name="sse-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        stream, owner_id, after, out = self._args
        try:
            iterator = stream.subscribe(owner_id, after=after)
            for event in iterator:
                if self.stop.is_set():
                    break
                out.put(event)
            close = getattr(iterator, "close", None)
            if callable(close):
                close()
        except Exception:
            log.exception("event stream failed")
        finally:
            out.put(_END)


def stream_events(
    stream: EventStream,
    owner_id: str,
    *,
    after: str | None,
    lifetime: float = LIFETIME_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[str]:
    """SSE frames for ``owner_id``'s run events after ``after``, with heartbeats, for at most ``lifetime`` s."""
    deadline = clock() + lifetime
    last = after
    out: queue.Queue[Any] = queue.Queue()
    pump = _Pump(stream, owner_id, last, out)
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        sent = clock()
        while (remaining := deadline - clock()) > 0:
            # a heartbeat is due ``heartbeat`` s after the last frame, however often the pump re-subscribes
            if (due := sent + heartbeat - clock()) <= 0:
                yield ": keep-alive\n\n"
                sent = clock()
                continue
            try:
                item = out.get(timeout=min(due, remaining))
            except queue.Empty:
                continue
            if item is _END:  # the iterator ended: follow again from the last id, without spinning
                if pump.stop.wait(min(0.5, max(0.0, deadline - clock()))):
                    return
                pump = _Pump(stream, owner_id, last, out)
                continue
            if not isinstance(item, RunEvent) or item.owner_id != owner_id:
                continue
            last = event_id(item)
            yield format_event(item)
            sent = clock()
    finally:
        pump.stop.set()


def poll_events(
    stream: EventStream,
    owner_id: str,
    *,
    after: str | None,
    quiet: float = 0.3,
    max_wait: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """The events after ``after`` that arrive before ``quiet`` s of silence (at most ``max_wait`` s)."""
    out: queue.Queue[Any] = queue.Queue()
    pump = _Pump(stream, owner_id, after, out)
    events: list[dict[str, Any]] = []
    deadline = clock() + max_wait
    try:
        while (remaining := deadline - clock()) > 0:
            try:
                item = out.get(timeout=min(quiet, remaining))
            except queue.Empty:
                break
            if item is _END:
                break
            if isinstance(item, RunEvent) and item.owner_id == owner_id:
                events.append(event_json(item))
    finally:
        pump.stop.set()
    return events
