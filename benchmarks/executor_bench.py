"""Executor benchmark: no-op runs/s through queue + journal, next to raw Huey no-op tasks; per-step overhead.

Usage: ``python benchmarks/executor_bench.py [--runs 200]``. Embedded = SQLite journal file + SqliteHuey;
distributed = PostgreSQL journal + RedisHuey (+ Redis pub/sub events), from ``OMNIOPS_TEST_POSTGRES_URL`` /
``OMNIOPS_TEST_REDIS_URL`` (the test defaults). Workers are threads of one process (``Worker.start(N)``).
Writes ``benchmarks/results/executor.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.commands import Channel, ReplyRoute  # noqa: E402
from core.intents import ConsentTier  # noqa: E402
from core.ports import ConsentDeclaration, RunStatus  # noqa: E402
from executor.demo import demo_recipes  # noqa: E402
from executor.journal import SystemClock, TokenIds  # noqa: E402
from executor.queue import make_huey  # noqa: E402
from executor.recipe import Recipe, RecipeRegistry, Step, StepContext, StepResult  # noqa: E402
from executor.schema import SCHEMA, runs  # noqa: E402
from executor.worker import Executor, Worker, build_executor  # noqa: E402
from gateway.db import create_schema, make_engine  # noqa: E402

PG_URL = os.environ.get("OMNIOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OMNIOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROUTE = ReplyRoute(channel=Channel.CLI)
STEPS = 20


def _noop(ctx: StepContext) -> StepResult:
    return StepResult(summary="ok")


def _recipes() -> RecipeRegistry:
    declaration = ConsentDeclaration(
        action="bench", service="bench", permissions=(), data_access=(), duration="one-time", tier=ConsentTier.NONE
    )
    many = tuple(Step(id=f"s{i}", title=f"Step {i}", run=_noop) for i in range(STEPS))
    registry = RecipeRegistry(demo_recipes())
    registry.add(Recipe(name="bench.steps", intent="bench", declaration=declaration, steps=many))
    return registry


@contextmanager
def _backend(mode: str, tmp: Path) -> Iterator[tuple[Engine, str | None, str]]:
    name = f"bench_{secrets.token_hex(4)}"
    if mode == "embedded":
        engine = make_engine(f"sqlite:///{tmp / (name + '.db')}")
        try:
            yield engine, None, name
        finally:
            engine.dispose()
        return
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-csearch_path={name}"}, pool_size=10, max_overflow=20)
    try:
        yield engine, REDIS_URL, name
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def _build(engine: Engine, redis_url: str | None, name: str, tmp: Path) -> Executor:
    create_schema(engine, [SCHEMA])
    return build_executor(
        engine=engine,
        clock=SystemClock(),
        ids=TokenIds(),
        recipes=_recipes(),
        redis_url=redis_url,
        queue_path=tmp / f"{name}-queue.db",
        queue_name=name,
        lease_seconds=30,
        worker_id="bench",
    )


def _wait_for(predicate: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not finish")
        time.sleep(0.01)


def executor_throughput(mode: str, workers: int, n: int, tmp: Path) -> float:
    """No-op runs per second: submit n runs (create_run + enqueue), then N worker threads drain them."""
    with _backend(mode, tmp) as (engine, redis_url, name):
        executor = _build(engine, redis_url, name, tmp)
        for _ in range(n):
            executor.runner.submit(owner_id="bench", recipe="demo.noop", params={}, consent_id=None, reply_route=ROUTE)
        count = sa.select(sa.func.count()).select_from(runs).where(runs.c.status == RunStatus.SUCCEEDED.value)

        def finished() -> bool:
            with engine.connect() as conn:
                return int(conn.execute(count).scalar() or 0) >= n

        worker = Worker(queue=executor.queue, journal=executor.journal, runner=executor.runner)
        start = time.perf_counter()
        worker.start(workers)
        _wait_for(finished)
        elapsed = time.perf_counter() - start
        worker.stop()
        executor.queue.flush()
        return n / elapsed


def raw_huey_throughput(mode: str, workers: int, n: int, tmp: Path) -> float:
    """No-op Huey tasks per second with the same JSON serializer and the same consumer loop shape."""
    name = f"raw_{secrets.token_hex(4)}"
    huey = make_huey(name=name, redis_url=REDIS_URL if mode == "distributed" else None, sqlite_path=tmp / f"{name}.db")
    done = [0]
    lock = threading.Lock()

    @huey.task(name="bench.noop")  # type: ignore[misc]
    def noop() -> None:
        with lock:
            done[0] += 1

    for _ in range(n):
        noop()
    stop = threading.Event()
    blocking = mode == "distributed"

    def consume() -> None:
        while not stop.is_set():
            task = huey.dequeue()
            if task is None:
                if not blocking:
                    stop.wait(0.05)
                continue
            huey.execute(task)

    start = time.perf_counter()
    threads = [threading.Thread(target=consume, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    _wait_for(lambda: done[0] >= n)
    elapsed = time.perf_counter() - start
    stop.set()
    for t in threads:
        t.join(timeout=5)
    huey.flush()
    return n / elapsed


def step_overhead_ms(mode: str, n: int, tmp: Path) -> float:
    """Runner cost per extra no-op step (journal started+done writes, events, audit-free), in ms."""
    with _backend(mode, tmp) as (engine, redis_url, name):
        executor = _build(engine, redis_url, name, tmp)

        def timed(recipe: str) -> float:
            ids = [
                executor.journal.create_run(
                    owner_id="bench", recipe=recipe, params={}, consent_id=None, reply_route=ROUTE
                ).id
                for _ in range(n)
            ]
            start = time.perf_counter()
            for run_id in ids:
                executor.runner.execute(run_id)
            return (time.perf_counter() - start) / n

        # best of three: on a shared machine the minimum is the least disturbed estimate
        one = min(timed("demo.noop") for _ in range(3))
        many = min(timed("bench.steps") for _ in range(3))
        return (many - one) / (STEPS - 1) * 1000


def bare_commit_ms(mode: str, tmp: Path, n: int = 50) -> float:
    """The floor: one single-row UPDATE + durable COMMIT on the same backend, in ms."""
    with _backend(mode, tmp) as (engine, _, _name):
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE commit_probe (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO commit_probe VALUES (1)"))
            conn.commit()
            best = float("inf")
            for _ in range(3):  # best of three, like the per-step figure
                start = time.perf_counter()
                for _ in range(n):
                    conn.execute(sa.text("UPDATE commit_probe SET x = x + 1"))
                    conn.commit()
                best = min(best, time.perf_counter() - start)
            elapsed = best
            conn.execute(sa.text("DROP TABLE commit_probe"))
            conn.commit()
        return elapsed / n * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--step-runs", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "executor.md"))
    args = parser.parse_args()
    rows = []
    overhead: dict[str, float] = {}
    floor: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for mode in ("embedded", "distributed"):
            for workers in (1, 4):
                ours = executor_throughput(mode, workers, args.runs, tmp)
                raw = raw_huey_throughput(mode, workers, args.runs, tmp)
                rows.append((mode, workers, ours, raw))
                print(
                    f"{mode:12} workers={workers}  executor {ours:8.1f} runs/s   raw huey {raw:8.1f} tasks/s",
                    flush=True,
                )
            overhead[mode] = step_overhead_ms(mode, args.step_runs, tmp)
            floor[mode] = bare_commit_ms(mode, tmp)
            print(f"{mode:12} per-step overhead {overhead[mode]:.2f} ms (bare commit {floor[mode]:.2f} ms)", flush=True)
    load = os.getloadavg()
    lines = [
        "## Executor benchmark",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {platform.node()} · {platform.machine()}, {os.cpu_count()} CPUs · "
        f"{platform.platform()} · Python {platform.python_version()} · load average at the end "
        f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (shared machine) · `python benchmarks/executor_bench.py "
        f"--runs {args.runs}`",
        "",
        "No-op runs (one no-op step) through queue + journal (claim, started event, step started/done, finish, "
        "event publish), drained by N worker threads in one process; raw Huey = no-op tasks with the same JSON "
        "serializer and the same consumer loop, measured in the same run.",
        "",
        "| mode | workers | executor runs/s | raw Huey tasks/s | executor / raw |",
        "|---|---|---|---|---|",
    ]
    labels = {"embedded": "embedded (SQLite + SqliteHuey)", "distributed": "distributed (PostgreSQL + RedisHuey)"}
    for mode, workers, ours, raw in rows:
        lines.append(f"| {labels[mode]} | {workers} | {ours:.1f} | {raw:.1f} | {ours / raw:.2f} |")
    lines += [
        "",
        f"Executor overhead per step (best of 3; a {STEPS}-step no-op recipe minus a 1-step one, per extra step: "
        "two fenced "
        "journal transactions, two events persisted and published, lease heartbeat running): "
        + ", ".join(f"{labels[m]} **{v:.2f} ms**" for m, v in overhead.items())
        + ". For scale, one bare single-row UPDATE + durable COMMIT on the same backend in the same run: "
        + ", ".join(f"{labels[m]} {v:.2f} ms" for m, v in floor.items())
        + " (a step needs two durable commits: `started` before the side effect, `done` after it).",
        "",
        "Reading: a run costs about six journal transactions (claim, started event, step started, step done, finish, "
        "plus the submit) and event publishes, and every one of them is a durable commit, so the executor sits at "
        "a few percent of raw Huey, which only moves a message. Setup runs last seconds to minutes and are bound by "
        "third-party APIs, so this is far above need; the per-step figure is the number that matters (the "
        "reference target is at least 500 step-commits/s on 2 vCPUs, i.e. at most 2 ms per commit; a step is 2 "
        "commits). Figures on this shared 2-vCPU machine vary by about 2x between runs with the load of others.",
        "",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
