"""Scheduled workflows: approve "every Monday at 9, send me a sales report" once; it runs until revoked.

``workflow.schedule`` (serves ``schedule_workflow``, ``confirm`` tier, a *standing* grant)
    1. ``check_store``     the tasks read the synced store: without one there is nothing to report
    2. ``create_schedule`` record the schedule bound to this run's grant (idempotent per grant; undone by
                           stopping it and revoking the grant)

``workflow.occurrence`` (started only by the scheduler, under the same standing grant and params hash)
    1. ``sales_report``    orders, revenue and best sellers since the previous slot (a day or a week)
    2. ``restock_list``    out-of-stock and low-stock products with the units sold in the last 30 days; OmniOps
                           has no supplier connection, so this is the list to reorder from, texted to the owner

``workflow.revoke`` (serves ``revoke_access`` for ``schedules`` or a task name, ``confirm`` tier)
    1. ``stop_schedules``  revoke the standing grant of every matching schedule and stop it (idempotent)

The declaration of a schedule names its exact schedule and tasks, so the owner's yes, the consent page and
the audit entry all say what will recur, and the params hash of every scheduled run matches the grant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from core.errors import Conflict, NotFound, ProviderRejected
from core.i18n import plural, t
from core.intents import ConsentTier, Task, Workflows
from core.ports import AuditEntry, AuditLog, Clock, ConsentDeclaration, ConsentRecord, Owners
from core.schedules import describe, moment, schedule_of
from executor.catalog import SqlReports
from executor.recipe import NO_RETRY, Recipe, Step, StepContext, StepResult
from executor.schedules import OCCURRENCE_RECIPE, SqlSchedules, cadence_of, describe_schedule

SERVICE = "woocommerce"  # the store data the tasks read
SOLD_WINDOW = timedelta(days=30)

REVOKE_DECLARATION = ConsentDeclaration(
    action="Stop your scheduled work and revoke the standing consent you gave for it",
    service="omniops",
    permissions=(),
    data_access=(),
    duration="one-time",
    tier=ConsentTier.CONFIRM,
)


class GrantRevoker(Protocol):
    def revoke(self, consent_id: str, owner_id: str) -> ConsentRecord:
        """Revoke an approved grant (``Conflict`` if it is not approved, ``NotFound`` if unknown)."""
        ...


def schedule_declaration(params: Mapping[str, Any]) -> ConsentDeclaration:
    """The standing consent a schedule asks for, naming its schedule and tasks."""
    schedule, tasks = schedule_of(params)
    return ConsentDeclaration(
        action=f"Text you {describe(schedule, tasks)}, from your synced store data, until you tell me to stop",
        service=SERVICE,
        permissions=("read your synced orders and products", "text you the results"),
        data_access=("orders", "products and stock levels"),
        duration="until revoked",
        tier=ConsentTier.CONFIRM,
        standing=True,
    )


class WorkflowRecipes:
    """Builds the three workflow recipes with their collaborators injected by the composition root."""

    def __init__(
        self,
        *,
        schedules: SqlSchedules,
        reports: SqlReports,
        owners: Owners,
        grants: GrantRevoker,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self.schedules = schedules
        self.reports = reports
        self.owners = owners
        self.grants = grants
        self.audit = audit
        self.clock = clock

    # -------------------------------------------------------------------------------------------- schedule
    def check_store(self, ctx: StepContext) -> StepResult:
        if not self.reports.synced(ctx.owner_id):
            if ctx.consent_id is not None:  # nothing will use this grant: do not leave it standing
                self._revoke(ctx.consent_id, ctx.owner_id, run_id=ctx.run_id)
            raise ProviderRejected(t(ctx.locale, "recipe.workflow.no_store"), provider=SERVICE)
        return StepResult(summary=t(ctx.locale, "recipe.workflow.store_synced"))

    def create_schedule(self, ctx: StepContext) -> StepResult:
        if ctx.consent_id is None:
            raise ProviderRejected(t(ctx.locale, "recipe.workflow.needs_consent"), provider="omniops")
        schedule, tasks = schedule_of(ctx.params)
        owner = self.owners.get(ctx.owner_id)
        record = self.schedules.create(
            owner_id=ctx.owner_id,
            consent_id=ctx.consent_id,
            schedule=schedule,
            tasks=tasks,
            timezone=owner.timezone if owner is not None else "UTC",
        )
        first = record.next_run_at.astimezone(cadence_of(record).zone())
        what = describe_schedule(record, ctx.locale)
        return StepResult(
            summary=t(ctx.locale, "recipe.workflow.scheduled_step", what=what),
            external_ids={"schedule_id": record.id},
            output={
                "schedule_id": record.id,
                "what": what,
                "timezone": record.timezone,
                "first": moment(first, ctx.locale),
            },
        )

    def cancel_schedule(self, ctx: StepContext, result: StepResult) -> None:
        schedule_id = result.external_ids.get("schedule_id")
        if schedule_id and self.schedules.stop(schedule_id, reason="cancelled") and ctx.consent_id is not None:
            self._revoke(ctx.consent_id, ctx.owner_id, run_id=ctx.run_id)

    # -------------------------------------------------------------------------------------------- occurrence
    def sales_report(self, ctx: StepContext) -> StepResult:
        schedule, tasks = schedule_of(ctx.params)
        if Task.SALES_REPORT not in tasks:
            return StepResult(summary=t(ctx.locale, "recipe.workflow.no_sales_report"), output={"skipped": True})
        now = self.clock.now()
        days = 1 if schedule.startswith("every day") else 7
        figures = self.reports.sales_between(ctx.owner_id, now - timedelta(days=days), now)
        money = f"{figures.revenue:.2f}" + (f" {figures.currency}" if figures.currency else "")
        period = "recipe.workflow.sales_day" if days == 1 else "recipe.workflow.sales_week"
        text = t(ctx.locale, period, orders=plural(ctx.locale, "recipe.workflow.orders", figures.orders), money=money)
        if figures.best_sellers:
            name, units = figures.best_sellers[0]
            text += "; " + t(ctx.locale, "recipe.workflow.best_seller", name=name, units=units)
        return StepResult(
            summary=text, output={"text": text, "orders": figures.orders, "revenue": f"{figures.revenue:.2f}"}
        )

    def restock_list(self, ctx: StepContext) -> StepResult:
        _schedule, tasks = schedule_of(ctx.params)
        if Task.RESTOCK_LOW_INVENTORY not in tasks:
            return StepResult(summary=t(ctx.locale, "recipe.workflow.no_restock_list"), output={"skipped": True})
        items = self.reports.restock_list(ctx.owner_id, sold_since=self.clock.now() - SOLD_WINDOW)
        if not items:
            text = t(ctx.locale, "recipe.workflow.stock_ok")
        else:
            parts = [
                t(
                    ctx.locale,
                    "recipe.workflow.restock_item",
                    name=i.name,
                    stock=t(ctx.locale, "recipe.workflow.out_of_stock")
                    if i.stock <= 0
                    else t(ctx.locale, "recipe.workflow.left", count=i.stock),
                    sold=i.sold,
                )
                for i in items
            ]
            text = t(ctx.locale, "recipe.workflow.restock", items="; ".join(parts))
        return StepResult(summary=text, output={"text": text, "items": len(items)})

    # -------------------------------------------------------------------------------------------- revoke
    def stop_schedules(self, ctx: StepContext) -> StepResult:
        target = str(ctx.params.get("service") or Workflows.ALL)
        stopped: list[str] = []
        for record in self.schedules.active(ctx.owner_id):
            if not record.stopped_by(target):
                continue
            self._revoke(record.consent_id, ctx.owner_id, run_id=ctx.run_id)
            self.schedules.stop(record.id, reason="revoked")
            stopped.append(describe_schedule(record, ctx.locale))
        return StepResult(
            summary=plural(ctx.locale, "recipe.workflow.stopped_step", len(stopped)),
            output={"stopped": stopped, "target": target},
        )

    def _revoke(self, consent_id: str, owner_id: str, *, run_id: str) -> None:
        try:
            record = self.grants.revoke(consent_id, owner_id)
        except (Conflict, NotFound):  # revoked already (a retried step), or never approved
            return
        self.audit.append(
            AuditEntry(
                owner_id=owner_id,
                action="consent.revoked",
                agent="executor",
                success=True,
                run_id=run_id,
                consent_id=consent_id,
                detail={"intent": record.intent, "params_hash": record.params_hash, "standing": True},
            )
        )

    # -------------------------------------------------------------------------------------------- recipes
    def recipes(self) -> tuple[Recipe, Recipe, Recipe]:
        """``workflow.schedule``, ``workflow.occurrence`` and ``workflow.revoke``."""
        schedule = Recipe(
            name="workflow.schedule",
            intent="schedule_workflow",
            declaration=schedule_declaration({}),
            describe=schedule_declaration,
            expected_seconds=5,
            summarize=_scheduled,
            steps=(
                Step(id="check_store", title="Check your store data", run=self.check_store, retry=NO_RETRY),
                Step(
                    id="create_schedule",
                    title="Create the schedule",
                    run=self.create_schedule,
                    compensate=self.cancel_schedule,
                ),
            ),
        )
        occurrence = Recipe(
            name=OCCURRENCE_RECIPE,
            intent="schedule_workflow",
            declaration=schedule_declaration({}),
            describe=schedule_declaration,
            serves_commands=False,
            expected_seconds=5,
            summarize=_report,
            steps=(
                Step(id="sales_report", title="Sales report", run=self.sales_report),
                Step(id="restock_list", title="Restock list", run=self.restock_list, depends_on=()),
            ),
        )
        revoke = Recipe(
            name="workflow.revoke",
            intent="revoke_access",
            service=Workflows.ALL.value,
            also_serves=tuple(t.value for t in Task),
            declaration=REVOKE_DECLARATION,
            expected_seconds=5,
            summarize=_stopped,
            steps=(Step(id="stop_schedules", title="Stop the scheduled work", run=self.stop_schedules),),
        )
        return schedule, occurrence, revoke


def _scheduled(done: Mapping[str, StepResult], locale: str) -> str:
    out = done["create_schedule"].output
    return t(locale, "recipe.workflow.scheduled", what=out["what"], timezone=out["timezone"], first=out["first"])


def _report(done: Mapping[str, StepResult], locale: str) -> str:
    ordered = [done[step] for step in ("sales_report", "restock_list") if step in done]  # not finishing order
    parts = [r.output["text"] for r in ordered if not r.output.get("skipped") and "text" in r.output]
    return ". ".join(str(p) for p in parts) + "." if parts else t(locale, "recipe.workflow.nothing_to_report")


def _stopped(done: Mapping[str, StepResult], locale: str) -> str:
    stopped = [str(s) for s in done["stop_schedules"].output.get("stopped", [])]
    if not stopped:
        return t(locale, "recipe.workflow.nothing_to_stop")
    return t(locale, "recipe.workflow.stopped", items="; ".join(stopped))
