"""Runner dependencies and helpers shared by driving and endings."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from typing import Any

import httpx

from core.commands import ReplyRoute
from core.errors import (
    ConsentError,
)
from core.events import RunEvent, RunEventKind
from core.intents import ConsentTier
from core.ports import AuditEntry, AuditLog, Clock, ConsentStore, Notifier, Queue
from executor.bus import EventBus
from executor.journal import RunRow, SqlJournal, StepRow
from executor.recipe import CredentialAccess, Recipe, RecipeRegistry, Step, StepContext

log = logging.getLogger(__name__)


class RunnerBase:
    """Dependencies and shared helpers: consent check, step context, publishing, audit entries."""

    def __init__(
        self,
        *,
        journal: SqlJournal,
        queue: Queue,
        recipes: RecipeRegistry,
        bus: EventBus,
        clock: Clock,
        worker_id: str,
        consents: ConsentStore | None = None,
        audit: AuditLog | None = None,
        credentials: CredentialAccess | None = None,
        http: httpx.Client | None = None,
        notifier: Notifier | None = None,
        lease_seconds: float = 30.0,
        max_recoveries: int = 5,
        inline_retry_max_seconds: float = 1.0,
        max_parallel_steps: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.journal = journal
        self.queue = queue
        self.recipes = recipes
        self.bus = bus
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._consents = consents
        self._audit = audit
        self._credentials = credentials
        self._http = http or httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0))
        self._notifier = notifier
        self._max_recoveries = max_recoveries
        self._inline_retry_max = inline_retry_max_seconds
        self._max_parallel = max(1, max_parallel_steps)
        self._rng = rng or random.Random()

    # ----------------------------------------------------------------------------------------- helpers
    def _check_consent(self, row: RunRow, recipe: Recipe) -> None:
        if row.record.consent_id is None:
            if recipe.declaration.tier == ConsentTier.NONE:
                return
            raise ConsentError("this run has no consent grant")
        if self._consents is None:
            raise ConsentError("no consent store is configured to check the grant")
        self._consents.check_grant(
            row.record.consent_id, owner_id=row.record.owner_id, params_hash=row.record.params_hash
        )

    def _context(
        self,
        row: RunRow,
        step: Step,
        outputs: Mapping[str, Mapping[str, Any]],
        previous: StepRow | None,
        *,
        resumed: bool,
    ) -> StepContext:
        def emit(message: str) -> None:
            event = self.journal.append_event(
                row.id,
                attempt=row.attempt,
                kind=RunEventKind.STEP_STARTED,
                message=message,
                owner_id=row.record.owner_id,
                step_id=step.id,
                data={"progress": True},
            )
            self._publish(event, row.record.reply_route)

        return StepContext(
            run_id=row.id,
            owner_id=row.record.owner_id,
            step_id=step.id,
            params=row.record.params,
            outputs=outputs,
            credentials=self._credentials,
            http=self._http,
            emit=emit,
            owner_input=previous.owner_input if previous is not None else None,
            resumed=resumed,
            locale=row.record.locale,
            consent_id=row.record.consent_id,
        )

    def _publish(self, event: RunEvent, route: ReplyRoute) -> None:
        self.bus.publish(event)
        if self._notifier is not None:
            try:
                self._notifier.run_event(event, route)
            except Exception:
                log.exception("notifier failed for run %s seq %s", event.run_id, event.seq)

    def _audit_step(
        self,
        row: RunRow,
        step: Step,
        *,
        phase: str,
        success: bool | None,
        started: float | None = None,
        ctx: StepContext | None = None,
        compensation: bool = False,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        if self._audit is None:
            return
        info: dict[str, Any] = {"attempt": row.attempt, "compensation": compensation, **(detail or {})}
        if ctx is not None and ctx.credential_services:
            info["credential_services"] = sorted(set(ctx.credential_services))
        self._audit.append(
            AuditEntry(
                owner_id=row.record.owner_id,
                action=f"{row.record.recipe}.{step.id}" + (".compensate" if compensation else ""),
                agent=f"worker:{self.worker_id}",
                success=success,
                phase=phase,
                run_id=row.id,
                consent_id=row.record.consent_id,
                duration_ms=None if started is None else int((time.monotonic() - started) * 1000),
                steps_executed=(step.id,),
                detail=info,
            )
        )

    def _audit_run(self, row: RunRow, recipe: Recipe, *, success: bool, detail: Mapping[str, Any]) -> None:
        if self._audit is None:
            return
        executed = tuple(
            sid for sid, s in self.journal.step_rows(row.id).items() if s.status in ("done", "compensated")
        )
        self._audit.append(
            AuditEntry(
                owner_id=row.record.owner_id,
                action=recipe.name,
                agent=f"worker:{self.worker_id}",
                success=success,
                phase="finished",
                run_id=row.id,
                consent_id=row.record.consent_id,
                steps_executed=executed,
                detail=dict(detail),
            )
        )
