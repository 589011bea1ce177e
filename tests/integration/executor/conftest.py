"""Fixtures for executor integration tests: the counting service and an embedded executor with workers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).parent))

from executor_counting_service import CountingService
from executor_harness import Harness, make_harness


@pytest.fixture
def counting() -> Iterator[CountingService]:
    service = CountingService().start()
    yield service
    service.stop()


@pytest.fixture
def harness(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    yield from make_harness(sqlite_engine, tmp_path, redis_url=None)
