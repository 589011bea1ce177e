"""A worker process for the chaos suite: the executor's `Worker` with the demo recipes and the real tamper-evident
audit log (vault), so the audit chain written by several processes can be verified afterwards.

``python tests/chaos/chaos_worker.py --database-url URL --root-key FILE [--redis-url URL] …``; prints
``ready <worker_id>`` once wired, then runs until SIGTERM (or SIGKILL, which is the point).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from executor.demo import demo_recipes
from executor.journal import SystemClock, TokenIds
from executor.recipe import RecipeRegistry
from executor.worker import Worker, build_executor, default_worker_id
from gateway.db import make_engine
from vault.services import build_vault


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--root-key", required=True)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--queue-path", default="var/queue.db")
    parser.add_argument("--queue-name", default="omniops")
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--reap-interval", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    engine = make_engine(args.database_url, pool_size=4)
    vault = build_vault(engine, root_key_file=args.root_key)
    worker_id = default_worker_id()
    executor = build_executor(
        engine=engine,
        clock=SystemClock(),
        ids=TokenIds(),
        recipes=RecipeRegistry(demo_recipes()),
        redis_url=args.redis_url,
        queue_path=args.queue_path,
        queue_name=args.queue_name,
        audit=vault.audit,
        lease_seconds=args.lease,
        max_recoveries=100,  # the suite interrupts the same run many times on purpose
        worker_id=worker_id,
    )
    worker = Worker(
        queue=executor.queue, journal=executor.journal, runner=executor.runner, reap_interval=args.reap_interval
    )
    print(f"ready {worker_id}", flush=True)
    return worker.run(concurrency=args.concurrency)


if __name__ == "__main__":
    raise SystemExit(main())
