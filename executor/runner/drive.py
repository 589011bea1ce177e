"""The runner: executes one claimed run, step by step (or DAG), crash-safely.

``Runner.execute(run_id)`` is what a dequeued message calls. It claims the run with a lease (compare-and-set
on ``attempt``), heartbeats while working, checks the consent grant, skips steps already done, re-runs a
step left ``started`` by a crashed attempt only through its idempotency key (``verify`` first), and refuses
to continue once its attempt is stale. Errors are handled by family: ``ProviderRetryable`` retries with
backoff (short waits inline, long ones by re-enqueueing with a delay, the retry state in the journal);
``ProviderRejected`` fails the run and compensates; ``CredentialsExpired`` fails with that reason (self-
healing comes later). Cancellation is honoured between steps, then compensation runs in reverse order.

Terminal outcomes: ``succeeded``; ``failed`` (nothing to undo); ``compensated`` (failed, and the steps that
had been done were undone; the event still carries the reason and the manual guide); ``cancelled``."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any

from core.commands import ReplyRoute
from core.errors import (
    ConsentError,
    CredentialsExpired,
    ProviderRejected,
    ProviderRetryable,
    StaleAttempt,
)
from core.events import RunEventKind
from core.i18n import t
from core.ports import RunRecord, RunStatus
from executor.journal import RunRow, StepRow
from executor.recipe import Recipe, Step, StepContext, StepResult, WaitingForOwner
from executor.runner.endings import RunnerEndings
from executor.runner.outcomes import _Done, _Fail, _Heartbeat, _Outcome, _Retry, _Wait

log = logging.getLogger(__name__)


class Runner(RunnerEndings):
    """Executes runs from the queue; also the entry point to submit, cancel and resume them."""

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
        locale = row.record.locale
        recipe = self.recipes.get(row.record.recipe)
        if recipe is None:
            reason = t(locale, "run.reason.unknown_recipe", recipe=row.record.recipe)
            self._finish_failed(row, None, reason, "unknown_recipe", compensate=False)
            return
        if row.recoveries > self._max_recoveries:
            reason = t(locale, "run.reason.too_many_recoveries", count=row.recoveries)
            self._finish_failed(row, recipe, reason, "too_many_recoveries", compensate=True)
            return
        if row.status == RunStatus.WAITING_FOR_OWNER and not row.record.cancel_requested:
            self._remind_or_time_out(row, recipe)
            return
        try:
            self._check_consent(row, recipe)
        except ConsentError as err:
            reason = t(locale, "run.reason.consent_failed", error=err.message)
            self._finish_failed(row, recipe, reason, err.code, compensate=True)
            return
        journal_steps = self.journal.step_rows(row.id)
        failed = [s for s in journal_steps.values() if s.status == "failed"]
        if failed:  # a crash during an earlier failure's compensation: finish that work
            reason = failed[0].error or t(locale, "run.reason.step_failed")
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
            message=t(locale, "run.event.resumed") if resumed else t(locale, "run.event.started", recipe=recipe.name),
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
        owner, locale = row.record.owner_id, row.record.locale
        title = recipe.step_title(step, locale)
        # an earlier attempt started it (crash mid-step) or tried and failed (maybe after the effect): verify first
        resumed = previous is not None and (previous.status == "started" or previous.tries > 0)
        tries = previous.tries if previous is not None else 0
        _, event = self.journal.step_started(
            row.id,
            attempt=row.attempt,
            step_id=step.id,
            event_message=title,
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
                    reason = t(locale, "run.reason.gave_up", error=err.message, tries=tries)
                    return self._step_failed(row, step, reason, err, ctx, started)
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
                    event_message=t(locale, "run.event.retry", title=title, attempt=tries + 1),
                    owner_id=owner,
                )
                resumed = True  # the failed try may have had its effect: verify / idempotency key first
                continue
            except CredentialsExpired as err:
                reason = (
                    t(locale, "run.reason.credentials_expired", provider=err.provider)
                    if err.provider
                    else t(locale, "run.reason.credentials_expired_unknown")
                )
                return self._step_failed(row, step, reason, err, ctx, started)
            except ProviderRejected as err:
                return self._step_failed(row, step, err.message, err, ctx, started)
            except StaleAttempt:
                raise
            except Exception as err:
                log.exception("step %s of run %s raised", step.id, row.id)
                reason = t(locale, "run.reason.unexpected", title=title)
                return self._step_failed(row, step, reason, err, ctx, started)
            event, cancel_requested = self.journal.step_done(
                row.id,
                attempt=row.attempt,
                step_id=step.id,
                summary=result.summary,
                external_ids=result.external_ids,
                output=result.output,
                event_message=result.summary or t(locale, "run.event.step_done", title=title),
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
