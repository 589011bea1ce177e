"""Crash trials: SIGKILL a worker process at random points while it runs multi-step recipes.

Both modes: embedded (SQLite journal + SqliteHuey) and distributed (PostgreSQL journal + RedisHuey + Redis
pub/sub). Every run must complete exactly once (one terminal event, one ``step_done`` per step), and the
side effects at the counting service must equal one clean run per run. Time to resume (kill → the run's
next ``started`` event from a new attempt) is written to ``benchmarks/results/executor_crash_<mode>.md`` when
``OMNIOPS_WRITE_BENCH_RESULTS=1`` (``python -m benchmarks crash`` sets it), else under the test's temporary folder,
so an ordinary test run (CI included) never rewrites the committed figures.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
from executor_counting_service import CountingService
from sqlalchemy.engine import Engine

from core.commands import Channel, ReplyRoute
from core.events import RunEventKind
from core.ports import RunStatus
from executor.demo import demo_recipes
from executor.journal import SqlJournal, SystemClock, TokenIds
from executor.recipe import RecipeRegistry
from executor.schema import SCHEMA
from executor.worker import build_executor
from gateway.db import create_schema

ROOT = Path(__file__).resolve().parents[3]
PROC = Path(__file__).with_name("executor_worker_proc.py")
TRIALS = 20
WORKERS = 2  # a survivor resumes the victim's runs while its replacement starts
LEASE = 2.0
ROUTE = ReplyRoute(channel=Channel.CLI)


class _Proc:
    """A worker subprocess; a thread waits for its ``ready <worker_id>`` line so spawning never blocks."""

    def __init__(self, args: list[str], log: IO[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PROC), *args],
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

    def stop(self, *, kill: bool) -> None:
        if kill:
            self.proc.kill()  # SIGKILL: no cleanup, no lease release
        else:
            self.proc.terminate()
        code = self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if not kill and self.ready.is_set():
            assert code == 0, f"worker did not shut down gracefully on SIGTERM (exit {code})"


def _pick_victim(procs: list[_Proc], journal: SqlJournal, fresh: list[str], rng: random.Random) -> _Proc:
    """The worker holding a lease on one of the fresh runs (so the kill lands mid-run), else any ready one."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = [journal.run_row(r) for r in fresh]
        owners = {r.lease_owner for r in rows if r is not None and r.status == RunStatus.RUNNING}
        holding = [p for p in procs if p.ready.is_set() and p.worker_id in owners]
        if holding:
            return rng.choice(holding)
        ready = [p for p in procs if p.ready.is_set()]
        if ready and all(r is not None and not r.status.active for r in rows):
            return rng.choice(ready)
        time.sleep(0.01)
    raise AssertionError("no worker picked up the fresh runs within 60 s")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["embedded", "distributed"])
def test_kill_9_at_random_points_never_loses_or_repeats_work(
    mode: str, request: pytest.FixtureRequest, tmp_path: Path, counting: CountingService
) -> None:
    rng = random.Random(int(os.environ.get("OMNIOPS_CRASH_SEED", "20261126")))
    if mode == "embedded":
        engine: Engine = request.getfixturevalue("sqlite_engine")
        redis_url = None
        queue_name = "crash"
        args = ["--database-url", engine.url.render_as_string(hide_password=False)]
    else:
        engine = request.getfixturevalue("pg_engine")
        schema = request.getfixturevalue("pg_url_schema")
        redis_url = request.getfixturevalue("redis_url")
        queue_name = request.getfixturevalue("redis_prefix").replace("-", "_")
        args = ["--database-url", engine.url.render_as_string(hide_password=False), "--search-path", schema]
        args += ["--redis-url", redis_url]
    args += ["--queue-path", str(tmp_path / "queue.db"), "--queue-name", queue_name, "--lease", str(LEASE)]
    create_schema(engine, [SCHEMA])
    executor = build_executor(
        engine=engine,
        clock=SystemClock(),
        ids=TokenIds(),
        recipes=RecipeRegistry(demo_recipes()),
        redis_url=redis_url,
        queue_path=tmp_path / "queue.db",
        queue_name=queue_name,
        lease_seconds=LEASE,
    )
    journal = executor.journal
    log = (tmp_path / "workers.log").open("a")
    runs: list[str] = []
    kills: list[tuple[datetime, list[str]]] = []
    procs = [_Proc(args, log) for _ in range(WORKERS)]
    try:
        for _ in range(TRIALS):
            for _ in range(2):
                record = executor.runner.submit(
                    owner_id="owner_crash",
                    recipe="demo.counting",
                    params={"base_url": counting.url, "step_ms": 120},
                    consent_id=None,
                    reply_route=ROUTE,
                )
                runs.append(record.id)
            victim = _pick_victim(procs, journal, runs[-2:], rng)
            time.sleep(rng.uniform(0.0, 0.35))  # a random point inside the run (3 steps of about 120 ms)
            killed_at = datetime.now(UTC)
            victim.stop(kill=True)
            in_flight = [
                r
                for r in runs
                if (row := journal.run_row(r)) is not None
                and row.status == RunStatus.RUNNING
                and row.lease_owner == victim.worker_id
            ]
            kills.append((killed_at, in_flight))
            procs.remove(victim)
            procs.append(_Proc(args, log))  # the replacement starts while the survivor keeps working
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not any(journal.get_run(r).status.active for r in runs):
                break
            time.sleep(0.2)
    finally:
        for proc in procs:
            proc.stop(kill=False)
        executor.queue.flush()
        log.close()

    # every run completed exactly once
    for run_id in runs:
        record = journal.get_run(run_id)
        assert record.status == RunStatus.SUCCEEDED, f"{run_id}: {record.status} {record.error}"
        events = journal.events(run_id)
        assert sum(1 for e in events if e.kind.terminal) == 1
        done = Counter(e.step_id for e in events if e.kind == RunEventKind.STEP_DONE)
        assert done == {"key": 1, "webhook": 1, "product": 1}, f"{run_id} re-ran a done step: {done}"
        assert counting.creates_for_run(run_id) == {"key": 1, "webhook": 1, "product": 1}
    # side effects equal one clean run per run
    assert counting.creates == {"key": len(runs), "webhook": len(runs), "product": len(runs)}

    resumes: list[float] = []
    interrupted = 0
    for killed_at, in_flight in kills:
        for run_id in in_flight:
            interrupted += 1
            later = [e.at for e in journal.events(run_id) if e.kind == RunEventKind.STARTED and e.at > killed_at]
            assert later, f"{run_id} was never resumed"
            resumes.append((min(later) - killed_at).total_seconds())
    assert interrupted >= 1
    recoveries = sum(journal.run_row(r).recoveries for r in runs)
    publish = os.environ.get("OMNIOPS_WRITE_BENCH_RESULTS") == "1"
    out_dir = ROOT / "benchmarks" / "results" if publish else tmp_path
    fragment = _write_fragment(
        out_dir, mode, runs=len(runs), interrupted=interrupted, recoveries=recoveries, resumes=resumes
    )
    assert "| 0 | 0 |" in fragment.read_text()  # no duplicate side effects, no lost runs


def _write_fragment(
    out_dir: Path, mode: str, *, runs: int, interrupted: int, recoveries: int, resumes: list[float]
) -> Path:
    resumes.sort()
    p95 = resumes[min(len(resumes) - 1, round(0.95 * (len(resumes) - 1)))]
    backend = "SQLite journal + SqliteHuey" if mode == "embedded" else "PostgreSQL journal + RedisHuey + Redis pub/sub"
    text = (
        f"### Crash trials — {mode} ({backend})\n\n"
        "Reproduce: `python -m benchmarks crash`\n\n"
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} on a shared machine). "
        f"{TRIALS} SIGKILLs of a worker process at random points, "
        f"lease {LEASE:g} s (heartbeat every {LEASE / 3:.2f} s), reaper every 0.25 s, 3-step recipe against a counting "
        "HTTP service.\n\n"
        "| runs | interrupted mid-run | lease recoveries | duplicate side effects | lost runs | "
        "time to resume median / p95 / max (s) |\n|---|---|---|---|---|---|\n"
        f"| {runs} | {interrupted} | {recoveries} | 0 | 0 | "
        f"{statistics.median(resumes):.2f} / {p95:.2f} / {resumes[-1]:.2f} |\n\n"
        f"{WORKERS} worker processes (concurrency 2 each); each trial kills one at random while the other keeps "
        "working and a replacement starts. Time to resume = SIGKILL → the run's next `started` event from a new "
        "attempt. Its floor is the dead worker's remaining lease (at most 2 s) plus one reaper period; the rest is "
        "the recovered run waiting in the queue behind other runs and CPU starvation at the load shown.\n"
    )
    out = out_dir / f"executor_crash_{mode}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out
