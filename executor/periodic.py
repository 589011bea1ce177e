"""`Periodic`: a daemon thread that calls one function every ``interval`` seconds until stopped.

The reaper, the workflow scheduler and the retention prune are all this loop: the first call one interval after
``start``, an exception logged and retried at the next interval (the process keeps serving), ``stop`` joins.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self

log = logging.getLogger(__name__)


class Periodic:
    """Call ``fn`` every ``interval`` seconds on a daemon thread named ``name``."""

    def __init__(self, fn: Callable[[], object], *, interval: float, name: str) -> None:
        self._fn = fn
        self._interval = interval
        self._name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Self:
        """Start the thread; returns this object (to stop it later)."""
        self._thread.start()
        return self

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop and join the thread (waiting up to ``timeout`` for a call in progress)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._fn()
            except Exception:  # the next interval tries again
                log.exception("%s failed", self._name)
