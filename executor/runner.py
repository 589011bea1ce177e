"""The runner: executes one claimed run, step by step (or DAG), crash-safely.

``Runner.execute(run_id)`` is what a dequeued message calls. It claims the run with a lease (compare-and-set
on ``attempt``), heartbeats while working, checks the consent grant, skips steps already done, re-runs a
step left ``started`` by a crashed attempt only through its idempotency key (``verify`` first), and refuses
to continue once its attempt is stale. Errors are handled by family: ``ProviderRetryable`` retries with
backoff (short waits inline, long ones by re-enqueueing with a delay, the retry state in the journal);
``ProviderRejected`` fails the run and compensates; ``CredentialsExpired`` fails with that reason (self-
healing comes later). Cancellation is honoured between steps, then compensation runs in reverse order.

Terminal outcomes: ``succeeded``; ``failed`` (nothing to undo); ``compensated`` (failed, and the steps that
had been done were undone; the event still carries the reason and the manual guide); ``cancelled``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from core.commands import ReplyRoute
from core.errors import (
    ConsentError,
    CredentialsExpired,
    ProviderRejected,
    ProviderRetryable,
    StaleAttempt,
)
from core.events import RunEvent, RunEventKind
from core.intents import ConsentTier
from core.ports import AuditEntry, AuditLog, Clock, ConsentStore, Notifier, Queue, RunRecord, RunStatus
from executor.bus import EventBus
from executor.journal import RunRow, SqlJournal, StepRow
from executor.recipe import CredentialAccess, Recipe, RecipeRegistry, Step, StepContext, StepResult, WaitingForOwner

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


class Runner:
    """Executes runs from the queue; also the entry point to submit, cancel and resume them."""

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

    # ----------------------------------------------------------------------------------------- API
    def submit(
        self,
        *,
        owner_id: str,
        recipe: str,
        params: Mapping[str, Any],
        consent_id: str | None,
        reply_route: ReplyRoute,
        locale: str = "en-US",
    ) -> RunRecord:
        """Create the run (with its ``queued`` event) and enqueue its id."""
        record = self.journal.create_run(
            owner_id=owner_id,
            recipe=recipe,
            params=params,
            consent_id=consent_id,
            reply_route=reply_route,
            locale=locale,
        )
        for event in self.journal.events(record.id):
            self._publish(event, record.reply_route)
        self.queue.enqueue(record.id)
        return record

    def cancel(self, run_id: str) -> RunRecord:
        """Request cancellation; a worker stops between steps and compensates."""
        record = self.journal.request_cancel(run_id)
        self.queue.enqueue(run_id)
        return record

    def resume(self, run_id: str, key: str, payload: Mapping[str, Any]) -> bool:
        """Deliver an external event (e.g. an OAuth callback) to a run waiting on ``key``."""
        if not self.journal.resume(run_id, key=key, payload=payload):
            return False
        self.queue.enqueue(run_id)
        return True

    def execute(self, run_id: str) -> None:
        """Claim and drive the run; returns quietly when it is not claimable (another worker has it)."""
        row = self.journal.claim(run_id, worker=self.worker_id, lease_seconds=self.lease_seconds)
        if row is None:
            return
        heartbeat = _Heartbeat(self.journal, run_id, row.attempt, self.worker_id, self.lease_seconds)
        heartbeat.start()
        try:
            self._drive(row, heartbeat)
        except StaleAttempt:
            log.info("run %s attempt %s lost its lease; another worker continues", run_id, row.attempt)
        finally:
            heartbeat.stop()

    # ----------------------------------------------------------------------------------------- driving
    def _drive(self, row: RunRow, heartbeat: _Heartbeat) -> None:
        recipe = self.recipes.get(row.record.recipe)
        if recipe is None:
            self._finish_failed(row, None, f"Unknown recipe {row.record.recipe}.", "unknown_recipe", compensate=False)
            return
        if row.recoveries > self._max_recoveries:
            reason = f"The run was interrupted {row.recoveries} times, so I stopped it for a person to look at."
            self._finish_failed(row, recipe, reason, "too_many_recoveries", compensate=True)
            return
        if row.status == RunStatus.WAITING_FOR_OWNER and not row.record.cancel_requested:
            self._finish_failed(row, recipe, "Timed out waiting for you.", "owner_timeout", compensate=True)
            return
        try:
            self._check_consent(row, recipe)
        except ConsentError as err:
            self._finish_failed(row, recipe, f"Consent check failed: {err.message}", err.code, compensate=True)
            return
        journal_steps = self.journal.step_rows(row.id)
        failed = [s for s in journal_steps.values() if s.status == "failed"]
        if failed:  # a crash during an earlier failure's compensation: finish that work
            reason = failed[0].error or "A step failed."
            self._finish_failed(row, recipe, reason, "step_failed", compensate=True)
            return
        if row.record.cancel_requested:
            self._finish_cancelled(row, recipe)
            return
        resumed = row.attempt > 1
        event = self.journal.append_event(
            row.id,
            attempt=row.attempt,
            kind=RunEventKind.STARTED,
            message="Resumed." if resumed else f"Started: {recipe.name}.",
            owner_id=row.record.owner_id,
            data={"attempt": row.attempt, "resumed": resumed, "steps": len(recipe.steps)},
        )
        self._publish(event, row.record.reply_route)
        self._run_steps(row, recipe, journal_steps, heartbeat)

    def _run_steps(self, row: RunRow, recipe: Recipe, journal_steps: dict[str, StepRow], heartbeat: _Heartbeat) -> None:
        done: dict[str, StepResult] = {
            sid: StepResult(summary=s.summary or "", external_ids=s.external_ids, output=s.output)
            for sid, s in journal_steps.items()
            if s.status == "done"
        }
        running: dict[Future[_Outcome], Step] = {}
        stops: list[_Outcome] = []
        cancel = False
        workers = min(self._max_parallel, max(1, len(recipe.steps)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"run-{row.id}") as pool:
            while True:
                if heartbeat.lost:
                    raise StaleAttempt("lease lost")
                if not stops and not cancel:
                    in_flight = set(running.values())
                    for step in recipe.steps:
                        if step.id in done or step in in_flight:
                            continue
                        if all(dep in done for dep in recipe.dependencies(step)):
                            outputs = {k: v.output for k, v in done.items()}
                            future = pool.submit(self._run_step, row, recipe, step, journal_steps.get(step.id), outputs)
                            running[future] = step
                if not running:
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    running.pop(future)
                    outcome = future.result()  # StaleAttempt propagates
                    if isinstance(outcome, _Done):
                        done[outcome.step.id] = outcome.result
                        cancel = cancel or outcome.cancel_requested  # read under the same fenced write
                    else:
                        stops.append(outcome)
        if heartbeat.lost:
            raise StaleAttempt("lease lost")
        fails = [o for o in stops if isinstance(o, _Fail)]
        waits = [o for o in stops if isinstance(o, _Wait)]
        retries = [o for o in stops if isinstance(o, _Retry)]
        if fails:
            self._finish_failed(row, recipe, fails[0].reason, fails[0].code, compensate=True)
        elif cancel and len(done) < len(recipe.steps):  # a cancel that arrives after the last step is too late
            self._finish_cancelled(row, recipe)
        elif waits:
            self._park(row, waits[0])
        elif retries:
            delay = max(r.delay for r in retries)
            not_before = self._clock.now() + timedelta(seconds=delay)
            self.journal.requeue(row.id, attempt=row.attempt, not_before=not_before, grace_seconds=self.lease_seconds)
            self.queue.enqueue(row.id, delay_seconds=delay)
        else:
            self._finish_succeeded(row, recipe, done)

    def _run_step(
        self,
        row: RunRow,
        recipe: Recipe,
        step: Step,
        previous: StepRow | None,
        outputs: dict[str, dict[str, Any]],
    ) -> _Outcome:
        owner = row.record.owner_id
        # an earlier attempt started it (crash mid-step) or tried and failed (maybe after the effect): verify first
        resumed = previous is not None and (previous.status == "started" or previous.tries > 0)
        tries = previous.tries if previous is not None else 0
        _, event = self.journal.step_started(
            row.id,
            attempt=row.attempt,
            step_id=step.id,
            event_message=step.title,
            owner_id=owner,
            fresh=previous is None,
        )
        self._publish(event, row.record.reply_route)
        self._audit_step(row, step, phase="started", success=None)
        started = time.monotonic()
        while True:
            ctx = self._context(row, step, outputs, previous, resumed=resumed)
            try:
                result = step.verify(ctx) if (resumed and step.verify is not None) else None
                if result is None:
                    result = step.run(ctx)
            except WaitingForOwner as signal:
                self._audit_step(row, step, phase="finished", success=None, started=started, ctx=ctx)
                return _Wait(step, signal)
            except ProviderRetryable as err:
                tries += 1
                if tries >= step.retry.max_attempts:
                    return self._step_failed(
                        row, step, f"{err.message} (gave up after {tries} tries)", err, ctx, started
                    )
                delay = step.retry.delay(tries, retry_after=err.retry_after, rng=self._rng)
                retry_at = self._clock.now() + timedelta(seconds=delay)
                self.journal.step_failed(
                    row.id, attempt=row.attempt, step_id=step.id, error=err.message, tries=tries, next_retry_at=retry_at
                )
                if delay > self._inline_retry_max:
                    return _Retry(step, delay)
                time.sleep(delay)
                self.journal.step_started(
                    row.id,
                    attempt=row.attempt,
                    step_id=step.id,
                    event_message=f"{step.title} (try {tries + 1})",
                    owner_id=owner,
                )
                resumed = True  # the failed try may have had its effect: verify / idempotency key first
                continue
            except CredentialsExpired as err:
                reason = f"The {err.provider or 'provider'} credentials expired or were revoked."
                return self._step_failed(row, step, reason, err, ctx, started)
            except ProviderRejected as err:
                return self._step_failed(row, step, err.message, err, ctx, started)
            except StaleAttempt:
                raise
            except Exception as err:
                log.exception("step %s of run %s raised", step.id, row.id)
                return self._step_failed(row, step, f"{step.title} failed unexpectedly.", err, ctx, started)
            event, cancel_requested = self.journal.step_done(
                row.id,
                attempt=row.attempt,
                step_id=step.id,
                summary=result.summary,
                external_ids=result.external_ids,
                output=result.output,
                event_message=result.summary or f"{step.title}: done.",
                owner_id=owner,
            )
            self._publish(event, row.record.reply_route)
            self._audit_step(row, step, phase="finished", success=True, started=started, ctx=ctx)
            return _Done(step, result, cancel_requested)

    def _step_failed(
        self, row: RunRow, step: Step, reason: str, err: Exception, ctx: StepContext, started: float
    ) -> _Fail:
        code = getattr(err, "code", "internal")
        self.journal.step_failed(
            row.id, attempt=row.attempt, step_id=step.id, error=reason, tries=0, next_retry_at=None
        )
        self._audit_step(row, step, phase="finished", success=False, started=started, ctx=ctx, detail={"code": code})
        return _Fail(step, reason, str(code))

    # ----------------------------------------------------------------------------------------- endings
    def _park(self, row: RunRow, wait_outcome: _Wait) -> None:
        signal = wait_outcome.signal
        deadline = self._clock.now() + timedelta(seconds=signal.timeout_seconds)
        event = self.journal.set_waiting(
            row.id,
            attempt=row.attempt,
            key=signal.key,
            reason=signal.reason,
            deadline=deadline,
            owner_id=row.record.owner_id,
            step_id=wait_outcome.step.id,
        )
        self._publish(event, row.record.reply_route)

    def _finish_succeeded(self, row: RunRow, recipe: Recipe, done: Mapping[str, StepResult]) -> None:
        parts = [done[s.id].summary for s in recipe.steps if s.id in done and done[s.id].summary]
        summary = "Done. " + " ".join(p if p.endswith(".") else p + "." for p in parts) if parts else "Done."
        if recipe.summarize is not None:
            summary = recipe.summarize(done)
        external: dict[str, str] = {}
        for s in recipe.steps:
            if s.id in done:
                external.update(done[s.id].external_ids)
        event = self.journal.finish(
            row.id,
            attempt=row.attempt,
            status=RunStatus.SUCCEEDED,
            kind=RunEventKind.SUCCEEDED,
            message=summary,
            owner_id=row.record.owner_id,
            summary=summary,
            data={"external_ids": external},
        )
        self._publish(event, row.record.reply_route)
        self._audit_run(row, recipe, success=True, detail={"status": "succeeded"})

    def _finish_cancelled(self, row: RunRow, recipe: Recipe) -> None:
        undone = self._compensate(row, recipe)
        message = "Cancelled." + (f" I undid: {', '.join(undone)}." if undone else "")
        event = self.journal.finish(
            row.id,
            attempt=row.attempt,
            status=RunStatus.CANCELLED,
            kind=RunEventKind.CANCELLED,
            message=message,
            owner_id=row.record.owner_id,
            summary=message,
            data={"compensated": undone},
        )
        self._publish(event, row.record.reply_route)
        self._audit_run(row, recipe, success=False, detail={"status": "cancelled"})

    def _finish_failed(self, row: RunRow, recipe: Recipe | None, reason: str, code: str, *, compensate: bool) -> None:
        undone = self._compensate(row, recipe) if (compensate and recipe is not None) else []
        guide = recipe.manual_guide_url if recipe is not None else None
        message = reason
        if undone:
            message += f" I undid what I had done: {', '.join(undone)}."
        if guide:
            message += f" You can finish it by hand: {guide}"
        status, kind = (
            (RunStatus.COMPENSATED, RunEventKind.COMPENSATED) if undone else (RunStatus.FAILED, RunEventKind.FAILED)
        )
        event = self.journal.finish(
            row.id,
            attempt=row.attempt,
            status=status,
            kind=kind,
            message=message,
            owner_id=row.record.owner_id,
            error=reason,
            data={"reason": reason, "code": code, "manual_guide_url": guide, "compensated": undone},
        )
        self._publish(event, row.record.reply_route)
        if recipe is not None:
            self._audit_run(row, recipe, success=False, detail={"status": status.value, "code": code})

    def _compensate(self, row: RunRow, recipe: Recipe) -> list[str]:
        """Undo done steps in reverse order; each undo is journaled (a crash resumes the remaining ones)."""
        journal_steps = self.journal.step_rows(row.id)
        undone: list[str] = []
        for step in reversed(recipe.steps):
            entry = journal_steps.get(step.id)
            if entry is None or step.compensate is None or entry.status not in ("done", "started", "failed"):
                continue
            outputs = {k: v.output for k, v in journal_steps.items() if v.status == "done"}
            ctx = self._context(row, step, outputs, entry, resumed=True)
            started = time.monotonic()
            try:
                if entry.status == "done":
                    result: StepResult | None = StepResult(
                        summary=entry.summary or "", external_ids=entry.external_ids, output=entry.output
                    )
                else:  # interrupted or failed mid-step: undo only what verify proves happened
                    result = step.verify(ctx) if step.verify is not None else None
                if result is None:
                    continue
                step.compensate(ctx, result)
            except StaleAttempt:
                raise
            except Exception:
                log.exception("compensation of %s in run %s failed", step.id, row.id)
                self._audit_step(
                    row, step, phase="finished", success=False, started=started, ctx=ctx, compensation=True
                )
                continue
            event = self.journal.step_compensated(
                row.id,
                attempt=row.attempt,
                step_id=step.id,
                event_message=f"Undone: {step.title}.",
                owner_id=row.record.owner_id,
            )
            self._publish(event, row.record.reply_route)
            self._audit_step(row, step, phase="finished", success=True, started=started, ctx=ctx, compensation=True)
            undone.append(step.title)
        return undone

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
