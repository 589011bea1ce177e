"""The rule parser on stopping scheduled work: ``revoke_access`` naming a task's schedules or every schedule.

``revoke_access.service`` takes a service, ``schedules`` (every scheduled workflow and its standing consent)
or a task (the scheduled workflows doing it). A stop verb about scheduled work is a revoke; the same verbs
without a schedule word or a recurrence stay ``cancel_job``/``deny``, and schedules without a stop verb stay
``schedule_workflow``.
"""

from __future__ import annotations

import pytest

from chat.nlu import extract_param, parse
from core.intents import INTENTS, Task, Workflows


@pytest.mark.parametrize(
    "text",
    [
        "stop my scheduled sales report",
        "stop sending me the weekly sales report",
        "cancel the weekly sales report",
        "unschedule the sales report",
        "stop the daily report",
        "no more daily reports please",
    ],
)
def test_stopping_the_scheduled_sales_report(text: str) -> None:
    assert parse(text).as_json() == {"intent": "revoke_access", "params": {"service": Task.SALES_REPORT.value}}


@pytest.mark.parametrize(
    "text",
    [
        "stop the weekly restock",
        "stop restocking low inventory every day",
        "cancel the scheduled restock",
        "switch off the automatic restock",
    ],
)
def test_stopping_the_scheduled_restock(text: str) -> None:
    assert parse(text).as_json() == {
        "intent": "revoke_access",
        "params": {"service": Task.RESTOCK_LOW_INVENTORY.value},
    }


@pytest.mark.parametrize(
    "text",
    [
        "stop my schedules",
        "cancel all scheduled work",
        "revoke the standing consent for my schedules",
        "stop the recurring jobs",
        "turn off my automations",
        "revoke my standing consents",
        "kill all my cron jobs",
    ],
)
def test_stopping_every_schedule(text: str) -> None:
    assert parse(text).as_json() == {"intent": "revoke_access", "params": {"service": Workflows.ALL.value}}


@pytest.mark.parametrize("text", ["stop my scheduled stuff", "cancel everything that is scheduled"])
def test_a_generic_scheduled_object_means_every_schedule(text: str) -> None:
    assert parse(text).as_json() == {"intent": "revoke_access", "params": {"service": "schedules"}}


def test_both_tasks_named_means_every_schedule() -> None:
    assert parse("cancel both scheduled tasks").params == {"service": "schedules"}


def test_the_task_wins_over_a_service_when_the_message_is_about_a_schedule() -> None:
    assert parse("cancel the weekly stripe report").params == {"service": "sales_report"}


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("disconnect stripe", "stripe"),
        ("remove the chat widget", "widget"),
        ("turn off analytics", "google_analytics"),
        ("unlink shopify", "shopify"),
    ],
)
def test_services_are_still_revoked_by_name(text: str, service: str) -> None:
    assert parse(text).as_json() == {"intent": "revoke_access", "params": {"service": service}}


def test_revoke_with_no_object_still_asks_which() -> None:
    result = parse("revoke access")
    assert result.as_json() == {"intent": "revoke_access", "params": {}}
    assert INTENTS["revoke_access"].missing(result.params) == ("service",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stop the job", {"intent": "cancel_job", "params": {}}),
        ("cancel the setup", {"intent": "cancel_job", "params": {}}),
        ("cancel run r_8f2k1", {"intent": "cancel_job", "params": {"run_id": "r_8f2k1"}}),
        ("stop setting up stripe", {"intent": "cancel_job", "params": {}}),
        ("stop the restock job", {"intent": "cancel_job", "params": {}}),
        ("stop the restock that is running now", {"intent": "cancel_job", "params": {}}),
        ("stop, don't do it", {"intent": "deny", "params": {}}),
        ("cancel that", {"intent": "deny", "params": {}}),
        (
            "every monday send me a sales report",
            {"intent": "schedule_workflow", "params": {"schedule": "every monday", "tasks": ["sales_report"]}},
        ),
        (
            "schedule a daily restock of low inventory",
            {"intent": "schedule_workflow", "params": {"schedule": "every day", "tasks": ["restock_low_inventory"]}},
        ),
        ("what's running low", {"intent": "store_report", "params": {"report": "low_stock"}}),
        ("report on low inventory", {"intent": "store_report", "params": {"report": "low_stock"}}),
    ],
)
def test_without_a_stop_verb_about_a_schedule_nothing_changes(text: str, expected: dict[str, object]) -> None:
    assert parse(text).as_json() == expected


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ("the sales report", "sales_report"),
        ("the restock", "restock_low_inventory"),
        ("my schedules", "schedules"),
        ("the automations", "schedules"),
        ("all of them", "schedules"),
        ("stripe", "stripe"),
    ],
)
def test_extract_param_reads_revoke_targets(answer: str, value: str) -> None:
    assert extract_param("revoke_access", "service", answer) == value


@pytest.mark.parametrize("answer", ["the weekly one", "everything", "yes", "no thanks"])
def test_extract_param_does_not_guess_a_revoke_target(answer: str) -> None:
    assert extract_param("revoke_access", "service", answer) is None


@pytest.mark.parametrize("intent", ["setup_integration", "fix_integration"])
@pytest.mark.parametrize("answer", ["the sales report", "my schedules", "all of them"])
def test_other_service_params_never_take_a_schedule(intent: str, answer: str) -> None:
    assert extract_param(intent, "service", answer) is None


def test_a_weekday_tied_to_a_task_names_its_schedule() -> None:
    assert parse("get rid of the monday report").as_json() == {
        "intent": "revoke_access",
        "params": {"service": "sales_report"},
    }
    assert parse("what were sales on monday").intent == "store_report"
