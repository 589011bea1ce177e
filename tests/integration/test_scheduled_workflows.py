"""Scheduled workflows and standing consents, on the real container (SQLite and PostgreSQL).

An owner approves "every Monday at 9, a sales report and a restock list" once (a standing grant); the scheduler
starts one run per slot under that grant, however many schedulers tick; ``revoke_access`` (by a task name or
``schedules``) and the owner API's revoke both stop every future run; the runner refuses a run whose grant was
revoked after it was queued. Time moves by passing ``now`` to the scheduler's tick (the product's own
entry point); everything else runs on the real clock, stores, recipes, queue and runner.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.commands import AuthLevel, Channel, Command, ConfirmationStatus, Principal, Reply, ReplyRoute
from core.ports import ConsentStatus, ScheduleStatus
from executor.schedules import occurrence_run_id
from gateway.bootstrap import Container, build_container
from gateway.settings import Settings

_TERMINAL = ("succeeded", "failed", "cancelled", "compensated")


@pytest.fixture(params=["sqlite", "postgres"])
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    settings: dict[str, Any] = {"var_dir": tmp_path / "var", "env": "test"}
    if request.param == "postgres":  # distributed-mode storage: the container builds its own engine from the URL
        settings["database_url"] = request.getfixturevalue("pg_schema_url")
    c = build_container(Settings(**settings))
    yield c
    c.close()


@pytest.fixture
def owner_id(container: Container) -> str:
    """An AI-Assisted owner with the Custom Workflow add-on, in Berlin, with a synced store."""
    owner = container.owners.create_owner(
        name="Acme Coffee", plan="ai_assisted", addons=("custom_workflow",), timezone="Europe/Berlin"
    )
    now = datetime.now(UTC)
    container.catalog.upsert_products(
        owner.id,
        [
            _product(1, "Blue Mug", stock=2, total_sales=40),
            _product(2, "Red Mug", stock=0, status="outofstock", total_sales=12),
            _product(3, "Teapot", stock=50, total_sales=3),
        ],
    )
    container.catalog.upsert_orders(
        owner.id,
        [
            _order(101, now - timedelta(days=1), "30.00", [("Blue Mug", 2, 1)]),
            _order(102, now - timedelta(days=3), "45.50", [("Blue Mug", 1, 1), ("Red Mug", 2, 2)]),
            _order(103, now - timedelta(days=20), "99.00", [("Teapot", 1, 3)]),
        ],
    )
    return owner.id


def _product(pid: int, name: str, *, stock: int, total_sales: int, status: str = "instock") -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "sku": f"SKU-{pid}",
        "price": "15.00",
        "manage_stock": True,
        "stock_quantity": stock,
        "stock_status": status,
        "total_sales": total_sales,
    }


def _order(oid: int, created: datetime, total: str, items: list[tuple[str, int, int]]) -> dict[str, Any]:
    return {
        "id": oid,
        "status": "completed",
        "total": total,
        "currency": "EUR",
        "date_created_gmt": created.strftime("%Y-%m-%dT%H:%M:%S"),
        "line_items": [{"name": n, "quantity": q, "product_id": p} for n, q, p in items],
    }


def say(c: Container, owner_id: str, intent: str, params: dict[str, Any] | None = None, **kw: Any) -> Reply:
    """A command from the owner's Siri Shortcut (a token-authenticated channel: confirm tier asks for a yes)."""
    return c.bus.handle(
        Command(
            channel=Channel.SIRI,
            principal=Principal(owner_id=owner_id, auth=AuthLevel.TOKEN),
            intent=intent,
            params=params or {},
            reply_route=ReplyRoute(channel=Channel.SIRI),
            request_id="req-test",
            received_at=datetime.now(UTC),
            session_id="siri-session",
            **kw,
        )
    )


def drain(c: Container) -> None:
    """Run every queued run to its end on this thread (the real queue and runner)."""
    while c.executor.queue.work_once():
        pass


def finished(c: Container, run_id: str) -> Any:
    drain(c)
    run = c.journal.get_run(run_id)
    assert run is not None and run.status in _TERMINAL, run
    return run


WEEKLY = {"schedule": "every monday at 09:00", "tasks": ["sales_report", "restock_low_inventory"]}


def schedule(
    c: Container, owner_id: str, params: dict[str, Any] = WEEKLY, *, when: str = "every Monday at 09:00"
) -> Any:
    """Ask, approve with a yes, run the ``workflow.schedule`` run; returns the finished run."""
    asked = say(c, owner_id, "schedule_workflow", params)
    assert asked.response_type == "question" and asked.consent is not None, asked
    assert when in asked.text and "Lasts: until revoked." in asked.text, asked.text
    started = say(c, owner_id, "confirm")
    assert started.response_type == "action_started" and started.run_id, started
    return finished(c, started.run_id)


def test_one_yes_schedules_a_standing_workflow_bound_to_its_grant(container: Container, owner_id: str) -> None:
    run = schedule(container, owner_id)
    assert run.status == "succeeded", run.error
    assert run.summary.startswith("Done! I'll text you a sales report and a restock list of low inventory every ")
    assert "(Europe/Berlin time), first on Monday" in run.summary and "stop my scheduled work" in run.summary
    [record] = container.schedules.active(owner_id)
    grant = container.consents.get(record.consent_id)
    assert grant.status is ConsentStatus.APPROVED and grant.declaration.standing
    assert grant.grant_expires_at is None  # "until revoked"
    assert [g.id for g in container.consents.list_standing(owner_id)] == [grant.id]
    local = record.next_run_at.astimezone(cadence_zone(record))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    listed = say(container, owner_id, "list_integrations")
    assert "Scheduled: a sales report and a restock list of low inventory every Monday at 09:00" in listed.text


def cadence_zone(record: Any) -> Any:
    from executor.schedules import cadence_of

    return cadence_of(record).zone()


def test_each_slot_runs_once_under_the_standing_grant_without_asking_again(container: Container, owner_id: str) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    consents_before = len(container.consents.list_standing(owner_id))
    slot = record.next_run_at
    started = container.executor.scheduler.tick(now=slot + timedelta(seconds=5))
    assert started == [occurrence_run_id(record.id, slot)]
    assert container.executor.scheduler.tick(now=slot + timedelta(seconds=6)) == []  # the slot is taken
    run = finished(container, started[0])
    assert run.status == "succeeded", run.error
    assert run.consent_id == record.consent_id and run.recipe == "workflow.occurrence"
    assert run.reply_route.channel is Channel.SMS  # scheduled results are texted
    assert "Sales, last 7 days: 2 orders, 75.50 EUR; best seller Blue Mug (3 sold)" in run.summary
    assert "To restock: Red Mug (out of stock, 2 sold in 30 days); Blue Mug (2 left, 3 sold in 30 days)" in (
        run.summary
    )
    assert len(container.consents.list_standing(owner_id)) == consents_before  # no new consent was asked
    after = container.schedules.get(record.id)
    assert after.next_run_at == record.next_run_at + timedelta(days=7) and after.last_run_id == started[0]


def test_concurrent_schedulers_create_exactly_one_run_per_slot(container: Container, owner_id: str) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    now = record.next_run_at + timedelta(seconds=1)
    barrier = threading.Barrier(8)
    results: list[list[str]] = []

    def tick() -> None:
        barrier.wait()
        results.append(container.executor.scheduler.tick(now=now))

    threads = [threading.Thread(target=tick) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    created = [run_id for r in results for run_id in r]
    assert created == [occurrence_run_id(record.id, record.next_run_at)]
    runs = [r for r in _runs(container, owner_id) if r.recipe == "workflow.occurrence"]
    assert len(runs) == 1


def _runs(c: Container, owner_id: str) -> list[Any]:
    from executor.schema import runs

    with c.engine.connect() as conn:
        ids = [r.id for r in conn.execute(sa.select(runs.c.id).where(runs.c.owner_id == owner_id))]
    return [c.journal.get_run(i) for i in ids]


def test_a_crash_after_creating_the_run_does_not_duplicate_it(container: Container, owner_id: str) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    grant = container.consents.get(record.consent_id)
    run_id = occurrence_run_id(record.id, record.next_run_at)
    # what a tick that died right after inserting the run left behind: the run, but next_run_at not moved
    container.journal.create_run(
        owner_id=owner_id,
        recipe="workflow.occurrence",
        params=grant.params,
        consent_id=grant.id,
        reply_route=ReplyRoute(channel=Channel.SMS),
        run_id=run_id,
    )
    assert container.executor.scheduler.tick(now=record.next_run_at + timedelta(minutes=1)) == []
    assert container.schedules.get(record.id).next_run_at > record.next_run_at
    assert [r.id for r in _runs(container, owner_id) if r.recipe == "workflow.occurrence"] == [run_id]


def test_missed_slots_are_coalesced_into_one_run(container: Container, owner_id: str) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    now = record.next_run_at + timedelta(days=21, hours=2)  # three weeks of downtime
    started = container.executor.scheduler.tick(now=now)
    assert started == [occurrence_run_id(record.id, record.next_run_at + timedelta(days=21))]
    assert container.schedules.get(record.id).next_run_at == record.next_run_at + timedelta(days=28)


def test_revoke_access_for_a_task_stops_that_schedule_and_revokes_its_grant(
    container: Container, owner_id: str
) -> None:
    schedule(container, owner_id)
    daily = {"schedule": "every day at 07:30", "tasks": ["restock_low_inventory"]}
    schedule(container, owner_id, daily, when="every day at 07:30")
    weekly, restock = container.schedules.active(owner_id)
    asked = say(container, owner_id, "revoke_access", {"service": "sales_report"})
    assert asked.response_type == "question" and "Stop your scheduled work" in asked.text
    started = say(container, owner_id, "confirm")
    run = finished(container, started.run_id)
    assert run.status == "succeeded" and run.recipe == "workflow.revoke", run.error
    assert run.summary == (
        "Stopped: a sales report and a restock list of low inventory every Monday at 09:00. "
        "Its standing consent is revoked and nothing more will run."
    )
    assert container.consents.get(weekly.consent_id).status is ConsentStatus.REVOKED
    assert container.schedules.get(weekly.id).status is ScheduleStatus.STOPPED
    assert container.schedules.get(weekly.id).stopped_reason == "revoked"
    assert [s.id for s in container.schedules.active(owner_id)] == [restock.id]  # the other one still runs
    far = weekly.next_run_at + timedelta(days=60)
    assert container.executor.scheduler.tick(now=far) == [occurrence_run_id(restock.id, _latest(restock, far))]
    revoked = [e for e in _audit(container, owner_id) if e["action"] == "consent.revoked"]
    assert [e["consent_id"] for e in revoked] == [weekly.consent_id]


def _latest(record: Any, now: datetime) -> datetime:
    from executor.schedules import cadence_of

    return cadence_of(record).latest_due(record.next_run_at, now)


def _audit(c: Container, owner_id: str) -> list[dict[str, Any]]:
    """The owner's audit entries, from the tamper-evident log."""
    return list(c.audit.rows_for_owner(owner_id))


def test_revoke_all_schedules_then_nothing_fires(container: Container, owner_id: str) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    say(container, owner_id, "revoke_access", {"service": "schedules"})
    run = finished(container, say(container, owner_id, "confirm").run_id)
    assert run.status == "succeeded" and run.summary.startswith("Stopped: a sales report")
    assert container.schedules.active(owner_id) == []
    assert container.executor.scheduler.tick(now=record.next_run_at + timedelta(days=400)) == []
    nothing = say(container, owner_id, "revoke_access", {"service": "schedules"})
    assert nothing.text == "You have no scheduled work to stop." and nothing.consent is None


def test_a_grant_revoked_through_the_owner_api_stops_the_schedule_at_its_next_slot(
    container: Container, owner_id: str
) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    container.consents.revoke(record.consent_id, owner_id)  # what POST /v1/consents/<id>/revoke does
    assert container.executor.scheduler.tick(now=record.next_run_at + timedelta(seconds=1)) == []
    stopped = container.schedules.get(record.id)
    assert stopped.status is ScheduleStatus.STOPPED and stopped.stopped_reason == "revoked"
    assert [e["detail"]["reason"] for e in _audit(container, owner_id) if e["action"] == "schedule.stopped"] == [
        "revoked"
    ]


def test_the_runner_refuses_a_queued_run_whose_grant_was_revoked_meanwhile(container: Container, owner_id: str) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    [run_id] = container.executor.scheduler.tick(now=record.next_run_at + timedelta(seconds=1))
    container.consents.revoke(record.consent_id, owner_id)  # revoked after queueing, before a worker ran it
    run = finished(container, run_id)
    assert run.status in ("failed", "compensated") and "revoked" in (run.error or ""), run


def test_a_lapsed_add_on_skips_slots_but_keeps_the_schedule(container: Container, owner_id: str) -> None:
    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    container.owners.set_plan(owner_id, "ai_assisted", addons=())
    assert container.executor.scheduler.tick(now=record.next_run_at + timedelta(seconds=1)) == []
    kept = container.schedules.get(record.id)
    assert kept.status is ScheduleStatus.ACTIVE and kept.next_run_at == record.next_run_at + timedelta(days=7)
    assert [e["detail"]["reason"] for e in _audit(container, owner_id) if e["action"] == "schedule.skipped"] == [
        "not_entitled"
    ]


def test_no_store_no_schedule_and_no_duplicate_schedules(container: Container, owner_id: str) -> None:
    bare = container.owners.create_owner(name="New Shop", plan="ai_assisted", addons=("custom_workflow",))
    refused = say(container, bare.id, "schedule_workflow", WEEKLY)
    assert refused.error_code == "no_store" and refused.consent is None
    schedule(container, owner_id)
    again = say(container, owner_id, "schedule_workflow", WEEKLY)
    assert again.text.startswith("That's already scheduled: a sales report") and again.consent is None
    assert len(container.schedules.active(owner_id)) == 1


def test_a_denied_schedule_creates_nothing(container: Container, owner_id: str) -> None:
    asked = say(container, owner_id, "schedule_workflow", WEEKLY)
    assert asked.consent is not None
    say(container, owner_id, "deny")
    assert container.consents.get(asked.consent.consent_id).status is ConsentStatus.DENIED
    assert container.schedules.active(owner_id) == []


def test_confirmation_up_front_on_alexa_style_yes(container: Container, owner_id: str) -> None:
    """A same-channel yes given with the request itself (Alexa Dialog.ConfirmIntent) schedules at once."""
    asked = say(container, owner_id, "schedule_workflow", WEEKLY)
    started = say(container, owner_id, "schedule_workflow", WEEKLY, confirmation=ConfirmationStatus.CONFIRMED)
    assert started.run_id and container.consents.get(asked.consent.consent_id).status is ConsentStatus.APPROVED
    assert finished(container, started.run_id).status == "succeeded"


def test_owner_api_lists_the_schedule_of_a_standing_grant_and_its_revoke_stops_it_at_once(
    container: Container, owner_id: str
) -> None:
    from gateway.app import create_app

    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    token = container.owners.create_token(owner_id, name="owner app", scopes=["consents"]).raw
    other = container.owners.create_owner(name="Other", plan="ai_assisted")
    other_token = container.owners.create_token(other.id, name="other app", scopes=["consents"]).raw
    client = create_app(container=container).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    [grant] = client.get("/v1/consents", headers=auth).get_json()["consents"]
    assert grant["id"] == record.consent_id and grant["standing"] and grant["duration"] == "until revoked"
    assert grant["schedule"]["what"] == "a sales report and a restock list of low inventory every Monday at 09:00"
    assert grant["schedule"]["next_run_at"] == record.next_run_at.isoformat()
    foreign = client.post(
        f"/v1/consents/{record.consent_id}/revoke", headers={"Authorization": f"Bearer {other_token}"}
    )
    assert foreign.status_code == 404 and container.schedules.get(record.id).status is ScheduleStatus.ACTIVE
    revoked = client.post(f"/v1/consents/{record.consent_id}/revoke", headers=auth)
    assert revoked.status_code == 200, revoked.get_json()
    body = revoked.get_json()
    assert body["status"] == "revoked" and body["schedule"]["status"] == "stopped"
    assert body["schedule"]["next_run_at"] is None
    assert container.schedules.active(owner_id) == []  # stopped now, not at its next slot
    assert client.get("/v1/consents", headers=auth).get_json()["consents"] == []
    assert container.executor.scheduler.tick(now=record.next_run_at + timedelta(days=1)) == []
    actions = [e["action"] for e in _audit(container, owner_id)]
    assert actions.count("consent.revoked") == 1 and actions.count("schedule.stopped") == 1


def test_a_grant_that_ran_out_stops_the_schedule_and_the_owner_is_told(container: Container, owner_id: str) -> None:
    from executor.schedules import Scheduler
    from gateway.consent.schema import consent_requests

    schedule(container, owner_id)
    [record] = container.schedules.active(owner_id)
    with container.engine.begin() as conn:  # a standing grant approved for "90 days", 91 days ago
        conn.execute(
            consent_requests.update()
            .where(consent_requests.c.id == record.consent_id)
            .values(grant_expires_at=datetime.now(UTC) - timedelta(days=1))
        )
    told: list[tuple[str, str]] = []
    scheduler = Scheduler(
        schedules=container.schedules,
        journal=container.journal,
        queue=container.executor.queue,
        recipes=container.executor.recipes,
        consents=container.consents,
        audit=container.audit,
        clock=container.clock,
        notify=lambda owner, text: told.append((owner, text)),
    )
    assert scheduler.tick(now=record.next_run_at + timedelta(seconds=1)) == []
    assert container.schedules.get(record.id).stopped_reason == "expired"
    assert told == [
        (
            owner_id,
            "OmniOps: I've stopped sending you a sales report and a restock list of low inventory every Monday at "
            "09:00: the consent you gave for it ran out. Ask me to schedule it again if you still want it.",
        )
    ]
    assert scheduler.tick(now=record.next_run_at + timedelta(days=7)) == [] and len(told) == 1


def test_one_tick_fires_every_due_schedule_in_batches(container: Container, owner_id: str) -> None:
    from executor.schedules import Scheduler

    for hour in range(5):
        schedule(
            container,
            owner_id,
            {"schedule": f"every day at 0{hour}:15", "tasks": ["sales_report"]},
            when=f"every day at 0{hour}:15",
        )
    records = container.schedules.active(owner_id)
    scheduler = Scheduler(
        schedules=container.schedules,
        journal=container.journal,
        queue=container.executor.queue,
        recipes=container.executor.recipes,
        consents=container.consents,
        audit=container.audit,
        clock=container.clock,
        batch=2,
    )
    now = max(r.next_run_at for r in records) + timedelta(seconds=1)
    fired = scheduler.tick(now=now)
    assert sorted(fired) == sorted(occurrence_run_id(r.id, r.next_run_at) for r in records)
    assert scheduler.tick(now=now) == []
