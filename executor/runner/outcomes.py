"""Step outcomes (done, retry, wait, fail) and the lease heartbeat thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from core.errors import (
    StaleAttempt,
)
from executor.journal import SqlJournal
from executor.recipe import Step, StepResult, WaitingForOwner

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class _Done:
    step: Step
    result: StepResult
    cancel_requested: bool = False


@dataclass(frozen=True)
class _Retry:
    step: Step
    delay: float


@dataclass(frozen=True)
class _Wait:
    step: Step
    signal: WaitingForOwner


@dataclass(frozen=True)
class _Fail:
    step: Step
    reason: str
    code: str


_Outcome = _Done | _Retry | _Wait | _Fail


class _Heartbeat:
    """Renews the lease every lease/3; flags ``lost`` when another worker took the run."""

    def __init__(self, journal: SqlJournal, run_id: str, attempt: int, worker: str, lease: float) -> None:
        self._journal = journal
        self._run_id = run_id
        self._attempt = attempt
        self._worker = worker
        self._lease = lease
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self._lease / 3):
            try:
                self._journal.renew(self._run_id, attempt=self._attempt, worker=self._worker, lease_seconds=self._lease)
            except StaleAttempt:
                self.lost = True
                return
            except Exception:
                log.exception("heartbeat for %s failed; will retry", self._run_id)
