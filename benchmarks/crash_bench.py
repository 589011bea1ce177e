"""Crash trials as a benchmark: SIGKILL worker processes mid-run (embedded and distributed) and publish the figures.

The trials themselves are the test ``tests/integration/executor/test_executor_crash.py`` (every run completes
exactly once; time to resume is measured). An ordinary test run writes its figures under its temporary folder;
this command runs the same test with ``OMNIOPS_WRITE_BENCH_RESULTS=1`` so it writes
``benchmarks/results/executor_crash_<mode>.md``, then BENCHMARKS.md is rebuilt by ``python -m benchmarks``.

Run: ``python -m benchmarks crash``. Needs PostgreSQL and Redis on 127.0.0.1 for the distributed mode.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = "tests/integration/executor/test_executor_crash.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", dest="select", default="", help="pytest -k expression (e.g. embedded)")
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST]
    if args.select:
        command += ["-k", args.select]
    env = {**os.environ, "OMNIOPS_WRITE_BENCH_RESULTS": "1"}
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
