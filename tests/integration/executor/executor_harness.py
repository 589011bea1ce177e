"""Helpers for executor integration tests: port fakes at the executor's boundary and an embedded harness."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core.errors import ConsentError
from core.events import RunEvent
from core.ports import AuditEntry, ConsentRecord, ConsentStatus, RunStatus
from executor.demo import demo_recipes
from executor.journal import SystemClock, TokenIds
from executor.recipe import RecipeRegistry
from executor.schema import SCHEMA
from executor.worker import Executor, Worker, build_executor, start_in_process
from gateway.db import create_schema


class MemoryAudit:
    """``AuditLog`` port kept in memory (the real tamper-evident log is the vault's)."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def append(self, entry: AuditEntry) -> int:
        self.entries.append(entry)
        return len(self.entries) - 1


class MemoryConsents:
    """``ConsentStore.check_grant`` semantics over records put here by the test."""

    def __init__(self) -> None:
        self.records: dict[str, ConsentRecord] = {}

    def put(self, record: ConsentRecord) -> None:
        self.records[record.id] = record

    def check_grant(self, consent_id: str, *, owner_id: str, params_hash: str) -> ConsentRecord:
        record = self.records.get(consent_id)
        if record is None or record.owner_id != owner_id:
            raise ConsentError("no such consent grant")
        if record.status != ConsentStatus.APPROVED:
            raise ConsentError(f"the consent grant is {record.status.value}")
        if not record.declaration.standing and record.expires_at < datetime.now(UTC):
            raise ConsentError("the consent grant expired")
        if record.params_hash != params_hash:
            raise ConsentError("the consent grant does not match this run")
        return record

    def create(self, **_: Any) -> Any:
        raise NotImplementedError

    def get(self, consent_id: str) -> ConsentRecord | None:
        return self.records.get(consent_id)

    def latest_pending(self, owner_id: str) -> ConsentRecord | None:
        return None

    def decide(self, consent_id: str, *, approve: bool, evidence: Mapping[str, Any]) -> ConsentRecord:
        raise NotImplementedError


class Harness:
    def __init__(self, executor: Executor, worker: Worker, audit: MemoryAudit, consents: MemoryConsents) -> None:
        self.executor = executor
        self.worker = worker
        self.audit = audit
        self.consents = consents

    @property
    def runner(self) -> Any:
        return self.executor.runner

    @property
    def journal(self) -> Any:
        return self.executor.journal

    def events_until_terminal(self, run_id: str, *, timeout: float = 30.0) -> list[RunEvent]:
        events = list(self.executor.bus.subscribe(run_id, timeout=timeout))
        assert events and events[-1].kind.terminal, f"run {run_id} did not finish: {[e.kind for e in events]}"
        return events

    def wait_status(self, run_id: str, status: RunStatus, *, timeout: float = 20.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.journal.get_run(run_id)
            if record is not None and record.status == status:
                return
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} never reached {status}")


def make_harness(
    engine: Engine, tmp_path: Path, *, redis_url: str | None, queue_name: str = "omniops"
) -> Iterator[Harness]:
    create_schema(engine, [SCHEMA])
    audit, consents = MemoryAudit(), MemoryConsents()
    executor = build_executor(
        engine=engine,
        clock=SystemClock(),
        ids=TokenIds(),
        recipes=RecipeRegistry(demo_recipes()),
        redis_url=redis_url,
        queue_path=tmp_path / "queue.db",
        queue_name=queue_name,
        consents=consents,  # type: ignore[arg-type]
        audit=audit,
        lease_seconds=2.0,
        worker_id="test-worker",
    )
    worker = start_in_process(executor, concurrency=2, reap_interval=0.2)
    try:
        yield Harness(executor, worker, audit, consents)
    finally:
        worker.stop(timeout=10)
        executor.queue.flush()
