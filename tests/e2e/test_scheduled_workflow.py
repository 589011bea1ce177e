"""A scheduled workflow end to end: the owner connects the sandbox store, says "every Monday at 9am send me a sales
report and restock low inventory" on Siri and says yes once (a standing grant); the scheduler's slot runs the
workflow without asking again and the report arrives by SMS (Twilio sandbox); "stop my scheduled sales report"
and a yes revoke the grant, and the next slots start nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page

from core.ports import ConsentStatus, ScheduleStatus
from tests.e2e.stack import Stack
from tests.e2e.test_revoke_access import setup_woocommerce
from vault.audit_verify import verify

pytestmark = [pytest.mark.browser, pytest.mark.viewport(1280, 800)]


def test_schedule_by_voice_runs_on_its_slot_texts_the_report_and_stops_when_revoked(stack: Stack, page: Page) -> None:
    setup_woocommerce(stack, page)
    owner = stack.seed.owner_id
    asked = stack.siri("every monday at 9am send me a sales report and restock low inventory")
    assert asked["status"] == "question", asked
    assert "every Monday at 09:00" in asked["text"] and "Lasts: until revoked." in asked["text"]
    started = stack.siri("yes")
    assert started["status"] == "action_started", started
    done = stack.wait_run(started["run_id"], ("succeeded", "failed", "compensated"))
    assert done.status == "succeeded", done.error
    assert done.summary.startswith("Done! I'll text you a sales report and a restock list of low inventory every ")
    [record] = stack.container.schedules.active(owner)
    assert stack.container.consents.get(record.consent_id).declaration.standing

    # Monday 09:00 comes round: the worker's scheduler starts the run under the standing grant, no new question
    inbox = len(stack.texts())
    scheduler = stack.container.executor.scheduler
    [run_id] = scheduler.tick(now=record.next_run_at + timedelta(seconds=2))
    run = stack.wait_run(run_id, ("succeeded", "failed", "compensated"))
    assert run.status == "succeeded", run.error
    text = stack.wait_text(r"Sales, last 7 days: \d+ orders", after=inbox)
    assert "To restock:" in text or "Stock: nothing is running low" in text
    assert len(stack.container.consents.list_standing(owner)) == 1

    # "Stop my scheduled sales report" + yes: the grant is revoked and the schedule stops
    question = stack.siri("stop my scheduled sales report")
    assert question["status"] == "question" and "Stop your scheduled work" in question["text"], question
    stopped = stack.siri("yes")
    revoke = stack.wait_run(stopped["run_id"], ("succeeded", "failed", "compensated"))
    assert revoke.status == "succeeded" and revoke.recipe == "workflow.revoke", revoke.error
    assert re.match(
        r"Stopped: a sales report and a restock list of low inventory every Monday at 09:00\.", revoke.summary
    )
    assert stack.container.consents.get(record.consent_id).status is ConsentStatus.REVOKED
    assert stack.container.schedules.get(record.id).status is ScheduleStatus.STOPPED
    assert scheduler.tick(now=record.next_run_at + timedelta(days=70)) == []
    assert "no scheduled work" in stack.siri("stop my schedules")["text"]
    assert verify(stack.container.engine, stack.container.vault_services.keyring).ok
