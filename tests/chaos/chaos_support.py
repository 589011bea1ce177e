"""The chaos rig: the real journal, queue, runner and tamper-evident audit log on SQLite (embedded) or a
PostgreSQL database + private Redis of the test's own (distributed), worker subprocesses that can be SIGKILLed,
and the counting service that counts every side effect.

``OMNIOPS_CHAOS_TRIALS`` (default 3) sets how many faults each case injects; the long version is
``OMNIOPS_CHAOS_TRIALS=50 pytest tests/chaos``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.commands import Channel, ReplyRoute
from core.events import RunEventKind
from core.ports import RunStatus
from executor.demo import demo_recipes
from executor.journal import SystemClock, TokenIds
from executor.recipe import RecipeRegistry
from executor.worker import Executor, build_executor
from gateway.bootstrap import schema_components
from gateway.db import create_schema, make_engine
from vault.audit_verify import verify
from vault.services import VaultServices, build_vault

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "executor"))
from executor_counting_service import CountingService

from benchmarks.procs import PgDatabase, RedisServer

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("chaos_worker.py")
TRIALS = max(1, int(os.environ.get("OMNIOPS_CHAOS_TRIALS", "3")))
SEED = int(os.environ.get("OMNIOPS_CHAOS_SEED", "20261126"))
LEASE = 2.0
ROUTE = ReplyRoute(channel=Channel.CLI)
EXPECTED = {"key": 1, "webhook": 1, "product": 1}


class WorkerProc:
    """A chaos worker subprocess; a thread waits for its ``ready <worker_id>`` line."""

    def __init__(self, args: list[str], log: IO[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.ready = threading.Event()
        self.worker_id = ""
        threading.Thread(target=self._wait_ready, daemon=True).start()

    def _wait_ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.startswith("ready "):
            self.worker_id = line.split(" ", 1)[1].strip()
            self.ready.set()

    def kill9(self) -> None:
        """SIGKILL: no cleanup, no lease release."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> int:
        """SIGTERM and wait (graceful: in-flight runs finish their step)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


@dataclass
class Rig:
    """One mode's backends, the submitting executor, the worker processes and the counting service."""

    mode: str
    engine: Any
    vault: VaultServices
    executor: Executor
    counting: CountingService
    worker_args: list[str]
    log: IO[str]
    redis: RedisServer | None = None
    database: PgDatabase | None = None
    procs: list[WorkerProc] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))

    @property
    def journal(self) -> Any:
        return self.executor.journal

    def spawn(self, n: int = 1) -> list[WorkerProc]:
        new = [WorkerProc(self.worker_args, self.log) for _ in range(n)]
        self.procs += new
        return new

    def submit(self, n: int = 1, *, step_ms: int = 120, **params: Any) -> list[str]:
        """Submit ``n`` demo.counting runs (3 side effects each)."""
        ids = []
        for _ in range(n):
            record = self.executor.runner.submit(
                owner_id="owner_chaos",
                recipe="demo.counting",
                params={"base_url": self.counting.url, "step_ms": step_ms, **params},
                consent_id=None,
                reply_route=ROUTE,
            )
            ids.append(str(record.id))
        self.runs += ids
        return ids

    def wait_any_running(self, run_ids: list[str], *, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = [self.journal.run_row(r) for r in run_ids]
            if any(r is not None and r.status == RunStatus.RUNNING for r in rows):
                return
            if all(r is not None and not r.status.active for r in rows):
                return
            time.sleep(0.01)
        raise AssertionError(f"no worker picked up {run_ids} within {timeout} s")

    def victim(self, fresh: list[str]) -> WorkerProc:
        """The worker holding a lease on a fresh run (so the kill lands mid-run), else any ready one."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = [self.journal.run_row(r) for r in fresh]
            owners = {r.lease_owner for r in rows if r is not None and r.status == RunStatus.RUNNING}
            holding = [p for p in self.procs if p.ready.is_set() and p.worker_id in owners]
            if holding:
                return self.rng.choice(holding)
            ready = [p for p in self.procs if p.ready.is_set()]
            if ready and all(r is not None and not r.status.active for r in rows):
                return self.rng.choice(ready)
            time.sleep(0.01)
        raise AssertionError("no worker picked up the fresh runs within 60 s")

    def wait_all_done(self, *, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not any(self.journal.get_run(r).status.active for r in self.runs):
                    return
            except Exception:  # the database itself may be the fault being injected
                pass
            time.sleep(0.2)

    def assert_nothing_lost_or_duplicated(self) -> None:
        """Every run succeeded exactly once; every side effect happened exactly once; the audit chain verifies."""
        assert self.runs
        for run_id in self.runs:
            record = self.journal.get_run(run_id)
            assert record.status == RunStatus.SUCCEEDED, f"{run_id} lost: {record.status} {record.error}"
            events = self.journal.events(run_id)
            assert sum(1 for e in events if e.kind.terminal) == 1
            done = Counter(e.step_id for e in events if e.kind == RunEventKind.STEP_DONE)
            assert done == EXPECTED, f"{run_id} re-ran a done step: {done}"
            assert self.counting.creates_for_run(run_id) == EXPECTED
        n = len(self.runs)
        assert self.counting.creates == {"key": n, "webhook": n, "product": n}
        self.assert_audit_verifies()

    def assert_audit_verifies(self) -> None:
        result = verify(self.engine, self.vault.keyring)
        assert result.ok, result

    def close(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.procs.clear()
        with suppress(Exception):  # the queue's server may be the fault being injected
            self.executor.queue.flush()
        self.engine.dispose()


@contextmanager
def rig(mode: str, tmp_path: Path) -> Iterator[Rig]:
    """A rig for ``mode`` (``embedded`` or ``distributed``); backends created here and dropped afterwards."""
    counting = CountingService().start()
    database: PgDatabase | None = None
    redis: RedisServer | None = None
    log = (tmp_path / "workers.log").open("a")
    root_key = tmp_path / "vault-root-key.json"
    try:
        if mode == "embedded":
            url, redis_url = f"sqlite:///{tmp_path / 'omniops.db'}", None
        else:
            database = PgDatabase("chaos").create()
            redis = RedisServer().start()
            url, redis_url = database.url, redis.url
        engine = make_engine(url, pool_size=4)
        create_schema(engine, schema_components())
        vault = build_vault(engine, root_key_file=root_key, create_root_key=True)
        queue_path = tmp_path / "queue.db"
        executor = build_executor(
            engine=engine,
            clock=SystemClock(),
            ids=TokenIds(),
            recipes=RecipeRegistry(demo_recipes()),
            redis_url=redis_url,
            queue_path=queue_path,
            queue_name="chaos",
            audit=vault.audit,
            lease_seconds=LEASE,
        )
        args = ["--database-url", url, "--root-key", str(root_key), "--queue-path", str(queue_path)]
        args += ["--queue-name", "chaos", "--lease", str(LEASE)]
        if redis_url:
            args += ["--redis-url", redis_url]
        the_rig = Rig(mode, engine, vault, executor, counting, args, log, redis=redis, database=database)
        try:
            yield the_rig
        finally:
            the_rig.close()
    finally:
        log.close()
        counting.stop()
        if redis is not None:
            redis.stop()
        if database is not None:
            database.drop()
