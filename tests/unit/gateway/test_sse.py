"""gateway/sse.py: frames, heartbeats, bounded lifetime, re-subscribing when a stream's iterator ends."""

from __future__ import annotations

import json
from collections.abc import Iterator

from core.events import RunEvent
from gateway.sse import format_event, poll_events, stream_events
from tests.chat_support import MemoryEventStream, run_event


def test_frame_format() -> None:
    frame = format_event(run_event("run_1", 2, "step_done", "Keys created\nand stored"))
    lines = frame.split("\n")
    assert lines[0] == "id: run_1:2" and lines[1] == "event: step_done" and frame.endswith("\n\n")
    assert json.loads(lines[2].removeprefix("data: "))["message"] == "Keys created\nand stored"


def test_heartbeats_while_idle_and_the_connection_ends_after_its_lifetime() -> None:
    frames = list(stream_events(MemoryEventStream(idle_timeout=10), "own_1", after=None, lifetime=0.5, heartbeat=0.1))
    assert frames[0].startswith("retry: ")
    assert ": keep-alive\n\n" in frames and not any(f.startswith("id:") for f in frames)


class EndingStream:
    """An EventStream whose iterators end after each batch (the consumer must subscribe again)."""

    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def subscribe(self, owner_id: str, *, after: str | None = None) -> Iterator[RunEvent]:
        self.calls.append(after)
        seq = 0 if after is None else int(after.split(":")[1]) + 1
        if seq < 3:
            yield run_event("run_1", seq, "step_done", f"step {seq}")


def test_iterators_that_end_are_followed_again_from_the_last_id() -> None:
    stream = EndingStream()
    frames = [f for f in stream_events(stream, "own_1", after=None, lifetime=3, heartbeat=1) if f.startswith("id:")]
    assert [f.split("\n")[0] for f in frames] == ["id: run_1:0", "id: run_1:1", "id: run_1:2"]
    assert stream.calls[:4] == [None, "run_1:0", "run_1:1", "run_1:2"]


def test_other_owners_events_are_never_streamed_or_polled() -> None:
    class Leaky:
        def subscribe(self, owner_id: str, *, after: str | None = None) -> Iterator[RunEvent]:
            yield run_event("run_x", 0, "queued", "not yours", owner_id="own_other")
            yield run_event("run_1", 0, "queued", "yours")

    assert [e["message"] for e in poll_events(Leaky(), "own_1", after=None)] == ["yours"]
    frames = [f for f in stream_events(Leaky(), "own_1", after=None, lifetime=0.3, heartbeat=1) if "id:" in f]
    assert all("run_1:0" in f for f in frames) and frames


class EmptyEndingStream:
    """Like the journal's stream: each subscription waits briefly, finds nothing, and ends."""

    def subscribe(self, owner_id: str, *, after: str | None = None) -> Iterator[RunEvent]:
        import time

        time.sleep(0.02)
        yield from ()


def test_heartbeats_still_go_out_when_idle_subscriptions_keep_ending() -> None:
    # regression (found by the load benchmark): re-subscribing every couple of seconds used to reset the
    # heartbeat timer, so an idle SSE connection under gunicorn received no byte at all after "connected"
    frames = list(stream_events(EmptyEndingStream(), "own_1", after=None, lifetime=2.0, heartbeat=0.2))
    assert frames.count(": keep-alive\n\n") >= 2
