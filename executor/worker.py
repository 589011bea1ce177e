"""Workers: threads that pull run ids from the queue and hand them to the runner.

* ``omniops worker --concurrency N`` (distributed): ``Worker(...).run(concurrency=N)`` blocks, handles
  SIGTERM/SIGINT gracefully (stop taking work, let in-flight runs finish their current step or lose their
  lease, which the reaper of another worker then recovers).
* ``omniops run`` (embedded): ``start_in_process(...)`` starts the same threads next to the gateway.

Each worker process also promotes delayed (retry) messages and runs the reaper thread. The composition
(engine, clock, ids, recipes, consent store, audit log, vault adapter) is the lead's ``bootstrap``;
:func:`build_executor` wires the executor's own parts from those.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy.engine import Engine

from core.ports import AuditLog, Clock, ConsentStore, Ids, Notifier, Owners
from executor.bus import EventBus, InProcessEventBus, RedisEventBus
from executor.journal import SqlJournal
from executor.queue import HueyQueue, Reaper, make_huey
from executor.recipe import CredentialAccess, RecipeRegistry
from executor.runner import Runner
from executor.schedules import Scheduler, SchedulerThread, SqlSchedules

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Executor:
    """The executor's parts, wired: what bootstrap hands to the gateway and to workers."""

    journal: SqlJournal
    queue: HueyQueue
    bus: EventBus
    runner: Runner
    recipes: RecipeRegistry
    scheduler: Scheduler | None = None  # starts the runs of scheduled workflows (standing grants)


def default_worker_id() -> str:
    """``host:pid`` — names the lease owner in the journal and the agent in the audit log."""
    return f"{socket.gethostname()}:{os.getpid()}"


def build_executor(
    *,
    engine: Engine,
    clock: Clock,
    ids: Ids,
    recipes: RecipeRegistry,
    redis_url: str | None = None,
    queue_path: str | Path = "var/queue.db",
    queue_name: str = "omniops",
    consents: ConsentStore | None = None,
    audit: AuditLog | None = None,
    credentials: CredentialAccess | None = None,
    notifier: Notifier | None = None,
    http: httpx.Client | None = None,
    lease_seconds: float = 30.0,
    max_recoveries: int = 5,
    worker_id: str | None = None,
    schedules: SqlSchedules | None = None,
    owners: Owners | None = None,
    tell_owner: Callable[[str, str], None] | None = None,
) -> Executor:
    """Wire journal, queue (SQLite or Redis Huey), event bus, runner and (given ``schedules``, ``consents`` and
    ``audit``) the workflow scheduler. The schema must exist already."""
    journal = SqlJournal(engine, clock, ids, recipes=recipes, pickup_grace_seconds=3 * lease_seconds)
    queue = HueyQueue(make_huey(name=queue_name, redis_url=redis_url, sqlite_path=queue_path))
    bus: EventBus = (
        RedisEventBus(journal, url=redis_url, prefix=queue_name) if redis_url else InProcessEventBus(journal)
    )
    runner = Runner(
        journal=journal,
        queue=queue,
        recipes=recipes,
        bus=bus,
        clock=clock,
        worker_id=worker_id or default_worker_id(),
        consents=consents,
        audit=audit,
        credentials=credentials,
        http=http,
        notifier=notifier,
        lease_seconds=lease_seconds,
        max_recoveries=max_recoveries,
    )
    queue.bind(runner.execute)
    scheduler = None
    if schedules is not None and consents is not None and audit is not None:
        scheduler = Scheduler(
            schedules=schedules,
            journal=journal,
            queue=queue,
            recipes=recipes,
            consents=consents,
            audit=audit,
            clock=clock,
            agent=f"scheduler:{worker_id or default_worker_id()}",
            owners=owners,
            notify=tell_owner,
        )
    return Executor(journal=journal, queue=queue, bus=bus, runner=runner, recipes=recipes, scheduler=scheduler)


class Worker:
    """N consumer threads + a scheduler (delayed retries) + the reaper (expired leases) + the workflow
    scheduler (scheduled workflows' runs), when one is given."""

    def __init__(
        self,
        *,
        queue: HueyQueue,
        journal: SqlJournal,
        runner: Runner,
        reap_interval: float | None = None,
        poll_interval: float = 0.05,
        schedule_interval: float = 0.2,
        workflows: Scheduler | None = None,
        workflow_interval: float = 15.0,
    ) -> None:
        self._queue = queue
        self._journal = journal
        self._runner = runner
        queue.bind(runner.execute)
        lease = runner.lease_seconds
        self._reaper = Reaper(
            journal,
            queue,
            interval=reap_interval if reap_interval is not None else max(0.2, lease / 3),
            grace_seconds=lease,
        )
        self._workflows = SchedulerThread(workflows, interval=workflow_interval) if workflows is not None else None
        self._poll = poll_interval
        self._schedule_interval = schedule_interval
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def stopping(self) -> bool:
        """True once ``stop`` was requested."""
        return self._stop.is_set()

    def start(self, concurrency: int = 2) -> None:
        """Start the consumer threads, the scheduler and the reaper (non-blocking)."""
        for index in range(max(1, concurrency)):
            thread = threading.Thread(target=self._consume, name=f"omniops-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        scheduler = threading.Thread(target=self._schedule, name="omniops-scheduler", daemon=True)
        scheduler.start()
        self._threads.append(scheduler)
        self._reaper.start()
        if self._workflows is not None:
            self._workflows.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop taking work and wait up to ``timeout`` for in-flight runs."""
        self._stop.set()
        self._reaper.stop()
        if self._workflows is not None:
            self._workflows.stop()
        for thread in self._threads:
            thread.join(timeout=timeout)

    def run(self, concurrency: int = 2) -> int:
        """Block until SIGTERM/SIGINT (main thread only), then stop gracefully. Returns an exit code."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("worker got signal %s: finishing in-flight runs", signum)
            self._stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start(concurrency)
            while not self._stop.wait(0.5):
                pass
            self.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _consume(self) -> None:
        while not self._stop.is_set():
            try:
                got = self._queue.work_once()
            except Exception:
                log.exception("worker loop error")
                got = False
                self._stop.wait(0.5)
            if not got and not self._queue.is_redis:  # Redis dequeue blocks with a timeout itself
                self._stop.wait(self._poll)

    def _schedule(self) -> None:
        while not self._stop.wait(self._schedule_interval):
            try:
                self._queue.promote_scheduled()
            except Exception:
                log.exception("scheduler loop error")


def start_in_process(executor: Executor, *, concurrency: int = 2, reap_interval: float | None = None) -> Worker:
    """Embedded mode (``omniops run``): start worker threads in this process; call ``stop()`` at shutdown."""
    worker = Worker(
        queue=executor.queue,
        journal=executor.journal,
        runner=executor.runner,
        reap_interval=reap_interval,
        workflows=executor.scheduler,
    )
    worker.start(concurrency)
    return worker


def register_cli(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], build: Callable[[], Executor]
) -> None:
    """Add ``omniops worker --concurrency N``; ``build()`` is bootstrap's executor factory."""
    parser = subparsers.add_parser("worker", help="run executor workers (distributed mode)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker threads (default 2)")

    def run(args: argparse.Namespace) -> int:
        executor = build()
        worker = Worker(
            queue=executor.queue, journal=executor.journal, runner=executor.runner, workflows=executor.scheduler
        )
        return worker.run(concurrency=args.concurrency)

    parser.set_defaults(func=run)
