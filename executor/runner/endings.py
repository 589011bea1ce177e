"""Run endings: park, succeed, cancel, fail, and saga compensation in reverse order."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from core.errors import (
    StaleAttempt,
)
from core.events import RunEventKind
from core.i18n import t
from core.ports import RunStatus
from executor.journal import RunRow
from executor.recipe import Recipe, StepResult
from executor.runner.base import RunnerBase
from executor.runner.outcomes import _Wait

log = logging.getLogger(__name__)

REMINDER_MIN_WAIT_SECONDS = 60.0  # shorter waits (tests, quick confirmations) time out without a reminder


class RunnerEndings(RunnerBase):
    """How a run stops: parked for the owner, succeeded, cancelled, failed (compensating in reverse order)."""

    # ----------------------------------------------------------------------------------------- endings
    def _park(self, row: RunRow, wait_outcome: _Wait) -> None:
        """Wait for the owner. Long waits wake once at half time to remind them, then wait out the rest."""
        signal = wait_outcome.signal
        now = self._clock.now()
        final = now + timedelta(seconds=signal.timeout_seconds)
        remind = signal.timeout_seconds >= REMINDER_MIN_WAIT_SECONDS
        event = self.journal.set_waiting(
            row.id,
            attempt=row.attempt,
            key=signal.key,
            reason=signal.reason,
            deadline=now + timedelta(seconds=signal.timeout_seconds / 2) if remind else final,
            owner_id=row.record.owner_id,
            step_id=wait_outcome.step.id,
            data={"final_deadline": final.isoformat(), "reminder_due": remind, "locale": row.record.locale},
        )
        self._publish(event, row.record.reply_route)

    def _remind_or_time_out(self, row: RunRow, recipe: Recipe) -> None:
        """A waiting run's deadline passed: the first time, remind the owner and keep waiting; then time out."""
        waits = [e for e in self.journal.events(row.id) if e.kind == RunEventKind.WAITING_FOR_OWNER]
        last = waits[-1] if waits else None
        final = last.data.get("final_deadline") if last is not None else None
        if last is not None and last.data.get("reminder_due") and final and row.wait_key:
            deadline = datetime.fromisoformat(str(final))
            if deadline > self._clock.now():
                event = self.journal.set_waiting(
                    row.id,
                    attempt=row.attempt,
                    key=row.wait_key,
                    reason=row.wait_reason or last.message,
                    deadline=deadline,
                    owner_id=row.record.owner_id,
                    step_id=last.step_id or row.wait_key,
                    message=t(row.record.locale, "run.event.reminder", reason=row.wait_reason or last.message),
                    data={
                        "final_deadline": str(final),
                        "reminder_due": False,
                        "reminder": True,
                        "locale": row.record.locale,
                    },
                )
                self._publish(event, row.record.reply_route)
                return
        reason = t(row.record.locale, "run.reason.timed_out")
        self._finish_failed(row, recipe, reason, "owner_timeout", compensate=True)

    def _finish_succeeded(self, row: RunRow, recipe: Recipe, done: Mapping[str, StepResult]) -> None:
        locale = row.record.locale
        parts = [done[s.id].summary for s in recipe.steps if s.id in done and done[s.id].summary]
        steps = " ".join(p if p.endswith(".") else p + "." for p in parts)
        summary = t(locale, "run.event.done_steps", steps=steps) if parts else t(locale, "run.event.done")
        if recipe.summarize is not None:
            summary = recipe.summarize(done, locale)
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
            data={"external_ids": external, "locale": locale},
        )
        self._publish(event, row.record.reply_route)
        self._audit_run(row, recipe, success=True, detail={"status": "succeeded"})

    def _finish_cancelled(self, row: RunRow, recipe: Recipe) -> None:
        undone = self._compensate(row, recipe)
        locale = row.record.locale
        if undone:
            message = t(locale, "run.event.cancelled_undid", steps=", ".join(undone))
        else:
            message = t(locale, "run.event.cancelled")
        event = self.journal.finish(
            row.id,
            attempt=row.attempt,
            status=RunStatus.CANCELLED,
            kind=RunEventKind.CANCELLED,
            message=message,
            owner_id=row.record.owner_id,
            summary=message,
            data={"compensated": undone, "locale": locale},
        )
        self._publish(event, row.record.reply_route)
        self._audit_run(row, recipe, success=False, detail={"status": "cancelled"})

    def _finish_failed(self, row: RunRow, recipe: Recipe | None, reason: str, code: str, *, compensate: bool) -> None:
        undone = self._compensate(row, recipe) if (compensate and recipe is not None) else []
        guide = recipe.manual_guide_url if recipe is not None else None
        locale = row.record.locale
        message = reason
        if undone:
            message += " " + t(locale, "run.event.undid", steps=", ".join(undone))
        if guide:
            message += " " + t(locale, "run.event.by_hand", guide=guide)
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
            data={
                "reason": reason,
                "code": code,
                "manual_guide_url": guide,
                "compensated": undone,
                "locale": locale,
            },
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
            title = recipe.step_title(step, row.record.locale)
            event = self.journal.step_compensated(
                row.id,
                attempt=row.attempt,
                step_id=step.id,
                event_message=t(row.record.locale, "run.event.undone", title=title),
                owner_id=row.record.owner_id,
            )
            self._publish(event, row.record.reply_route)
            self._audit_step(row, step, phase="finished", success=True, started=started, ctx=ctx, compensation=True)
            undone.append(title)
        return undone
