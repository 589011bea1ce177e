"""Fault matrix, executor side: worker SIGKILL at random points (both modes), Redis restarted mid-run, PostgreSQL
connections dropped mid-run. Each case: no run lost, no side effect duplicated (counting service), and the
tamper-evident audit chain written by every process verifies afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.chaos_support import TRIALS, Rig, rig

pytestmark = pytest.mark.timeout(120 + 12 * TRIALS)  # the long version scales with OMNIOPS_CHAOS_TRIALS


@pytest.fixture(params=["embedded", "distributed"])
def any_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    with rig(request.param, tmp_path) as r:
        yield r


@pytest.fixture
def distributed_rig(tmp_path: Path) -> Iterator[Rig]:
    with rig("distributed", tmp_path) as r:
        yield r


def test_worker_kill_9_at_random_points_loses_and_repeats_nothing(any_rig: Rig) -> None:
    r = any_rig
    r.spawn(2)  # a survivor resumes the victim's runs while its replacement starts
    for _ in range(TRIALS):
        fresh = r.submit(2)
        victim = r.victim(fresh)
        time.sleep(r.rng.uniform(0.0, 0.35))  # a random point inside the run (3 steps of ~120 ms)
        victim.kill9()
        r.procs.remove(victim)
        r.spawn(1)
    r.wait_all_done()
    r.assert_nothing_lost_or_duplicated()
    assert max(r.journal.run_row(x).attempt for x in r.runs) > 1, "no kill landed mid-run"


def test_redis_restarted_mid_run_loses_and_repeats_nothing(distributed_rig: Rig) -> None:
    r = distributed_rig
    assert r.redis is not None
    r.spawn(2)
    for _ in range(TRIALS):
        fresh = r.submit(3)
        r.wait_any_running(fresh)
        time.sleep(r.rng.uniform(0.0, 0.3))
        r.redis.restart(down_seconds=r.rng.uniform(0.2, 1.0))  # no persistence: every queued message is gone
    r.wait_all_done()
    r.assert_nothing_lost_or_duplicated()


def test_postgres_connections_dropped_mid_run_lose_and_repeat_nothing(distributed_rig: Rig) -> None:
    r = distributed_rig
    assert r.database is not None
    r.spawn(2)
    dropped = 0
    for _ in range(TRIALS):
        fresh = r.submit(3)
        r.wait_any_running(fresh)
        time.sleep(r.rng.uniform(0.0, 0.3))
        dropped += r.database.terminate_backends()  # every backend of this test's own database
    assert dropped > 0
    r.wait_all_done()
    r.assert_nothing_lost_or_duplicated()
