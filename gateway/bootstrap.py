"""The composition root: the only module that knows concrete classes.

`build_container(settings)` builds the engine, the schema, the stores, the bus and the blueprints for one
process (a gateway, a worker, or both in embedded mode). Tests build their own container from test
settings; nothing here runs at import time.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.engine import Engine

from gateway.db import create_schema, make_engine
from gateway.metrics import Metrics
from gateway.settings import Settings
from gateway.system import RandomIds, SystemClock

log = logging.getLogger("omniops.bootstrap")


@dataclass
class Container:
    """Everything one process needs, built once by `build_container`."""

    settings: Settings
    engine: Engine
    secret_key: str
    metrics: Metrics = field(default_factory=Metrics)
    clock: SystemClock = field(default_factory=SystemClock)
    ids: RandomIds = field(default_factory=RandomIds)
    redis: Any = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def blueprints(self) -> list[Blueprint]:
        """One blueprint per concern, registered explicitly (no import side effects)."""
        from gateway.blueprints import ops

        return [ops.bp]

    def readiness(self) -> dict[str, tuple[bool, str]]:
        """Check each dependency; returns name -> (ok, detail)."""
        checks: dict[str, tuple[bool, str]] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            checks["database"] = (True, self.engine.dialect.name)
        except Exception as err:  # any failure means not ready
            checks["database"] = (False, type(err).__name__)
        if self.settings.distributed:
            try:
                self.redis.ping()
                checks["redis"] = (True, "ok")
            except Exception as err:
                checks["redis"] = (False, type(err).__name__)
        return checks

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self.engine.dispose()


def _secret_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    log.warning("generated a new session signing key", extra={"path": str(Path(path).resolve())})
    return key


def build_container(settings: Settings) -> Container:
    """Build every store and service for ``settings`` and create the schema (idempotent)."""
    engine = make_engine(settings.resolved_database_url)
    create_schema(engine, components=[])
    container = Container(settings=settings, engine=engine, secret_key=_secret_key(settings))
    if settings.redis_url:
        import redis

        container.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        container._closers.append(container.redis.close)
    return container
