"""The message bus and handlers, driven with fakes of every port (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core import intents
from core.commands import AuthLevel, Channel, Command, Principal, ReplyRoute, ResponseType
from core.handlers import COMMAND_HANDLERS, HANDLERS, DecideConsent, Services
from core.messagebus import MessageBus
from core.ports import ConsentDeclaration, ConsentStatus, Owner, RecipeInfo, ReportRow
from tests.fakes import (
    DECL,
    FakeAudit,
    FakeClock,
    FakeConsents,
    FakeConversations,
    FakeIds,
    FakeJournal,
    FakeNotifier,
    FakeOwners,
    FakeQueue,
    FakeRecipes,
    FakeReports,
    FakeVault,
)

OWNER = Owner(id="own_1", name="Acme", plan="ai_assisted", verified_phones=("+15550001111",))


def _extract(intent: str, param: str, text: str, locale: str = "en-US") -> Any:
    if param == "store_url" and "." in text:
        return text.strip()
    return None


@pytest.fixture
def world() -> dict[str, Any]:
    clock, ids = FakeClock(), FakeIds()
    svc = Services(
        clock=clock,
        ids=ids,
        owners=FakeOwners({OWNER.id: OWNER, "own_m": Owner(id="own_m", name="M", plan="manual")}),
        consents=FakeConsents(clock, ids),
        journal=FakeJournal(clock, ids),
        queue=FakeQueue(),
        vault=FakeVault(),
        audit=FakeAudit(),
        notifier=FakeNotifier(),
        recipes=FakeRecipes(
            {
                "setup_integration:woocommerce": RecipeInfo(
                    name="woocommerce_setup", declaration=DECL, required=("store_url",)
                ),
                "schedule_workflow": RecipeInfo(
                    name="workflow",
                    declaration=ConsentDeclaration(
                        action="Send a weekly sales report",
                        service="omniops",
                        permissions=("read orders",),
                        data_access=("orders",),
                        duration="until revoked",
                        tier="confirm",
                        standing=True,
                    ),
                ),
            }
        ),
        reports=FakeReports(
            {
                (OWNER.id, "best_sellers"): [ReportRow(label="Blue Mug", value=31)],
                (OWNER.id, "low_stock"): [ReportRow(label="Red Mug", value=0)],
            }
        ),
        conversations=FakeConversations(),
        extract_param=_extract,
        public_url="https://gw.example",
    )
    return {"svc": svc, "bus": MessageBus(services=svc), "clock": clock}


def cmd(
    intent: str,
    params: dict[str, Any] | None = None,
    *,
    channel: Channel = Channel.WIDGET,
    auth: AuthLevel = AuthLevel.SESSION,
    owner: str | None = OWNER.id,
    text: str | None = None,
    **kw: Any,
) -> Command:
    return Command(
        channel=channel,
        principal=Principal(owner_id=owner, auth=auth),
        intent=intent,
        params=params or {},
        reply_route=ReplyRoute(channel=channel, to="sess-1"),
        request_id="req-1",
        received_at=datetime(2026, 11, 26, tzinfo=UTC),
        session_id="sess-1",
        text=text,
        **kw,
    )


def test_every_intent_has_exactly_one_handler() -> None:
    assert set(HANDLERS) == set(intents.INTENT_NAMES)
    assert DecideConsent in COMMAND_HANDLERS


def test_unlinked_principal_gets_link_account(world: dict[str, Any]) -> None:
    reply = world["bus"].handle(cmd("job_status", owner=None, channel=Channel.ALEXA, auth=AuthLevel.ANONYMOUS))
    assert reply.response_type is ResponseType.LINK_ACCOUNT


def test_missing_store_url_is_asked_then_filled_by_next_message(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    first = bus.handle(cmd("setup_integration", {"service": "woocommerce"}))
    assert first.response_type is ResponseType.QUESTION
    assert first.elicit_param == "store_url"
    assert "WooCommerce store address" in first.text
    second = bus.handle(cmd("unknown", text="shop.example.com"))
    assert second.response_type is ResponseType.CONSENT_REQUIRED
    consent = svc.consents.get(second.consent.consent_id)
    assert consent.params == {"service": "woocommerce", "store_url": "https://shop.example.com"}
    assert svc.queue.enqueued == []  # nothing runs before the owner approves


def test_widget_session_card_then_decision_queues_exactly_one_run(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    reply = bus.handle(cmd("setup_integration", {"service": "woocommerce", "store_url": "shop.example.com"}))
    assert reply.response_type is ResponseType.CONSENT_REQUIRED
    assert reply.consent.permissions == DECL.permissions and reply.consent.duration == "until revoked"
    decision = DecideConsent(
        consent_id=reply.consent.consent_id,
        owner_id=OWNER.id,
        approve=True,
        via="card",
        channel=Channel.WIDGET,
        auth=AuthLevel.SESSION,
    )
    started = bus.handle_internal(decision)
    assert started.response_type is ResponseType.ACTION_STARTED
    assert svc.queue.enqueued == [started.run_id]
    assert started.status_url == f"https://gw.example/v1/runs/{started.run_id}"
    actions = [e.action for e in svc.audit.entries]
    assert "consent.approved" in actions


def test_voice_yes_never_grants_verified_but_texts_a_link(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    params = {"service": "woocommerce", "store_url": "shop.example.com"}
    ask = bus.handle(cmd("setup_integration", params, channel=Channel.ALEXA, auth=AuthLevel.LINKED))
    assert ask.confirm_intent and ask.response_type is ResponseType.QUESTION
    answer = bus.handle(
        cmd("setup_integration", params, channel=Channel.ALEXA, auth=AuthLevel.LINKED, confirmation="confirmed")
    )
    assert answer.response_type is ResponseType.CONSENT_REQUIRED
    assert "sent a link to your phone" in answer.text
    assert len(svc.notifier.links) == 1 and svc.queue.enqueued == []
    with pytest.raises(Exception, match="link or your logged-in"):
        bus.handle_internal(
            DecideConsent(
                consent_id=answer.consent.consent_id,
                owner_id=OWNER.id,
                approve=True,
                via="voice",
                channel=Channel.ALEXA,
                auth=AuthLevel.LINKED,
            )
        )
    assert svc.queue.enqueued == []


def test_sms_code_approves_once(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    params = {"service": "woocommerce", "store_url": "shop.example.com"}
    sms = {"channel": Channel.SMS, "auth": AuthLevel.VERIFIED_PHONE}
    reply = bus.handle(cmd("setup_integration", params, **sms))
    code = reply.text.split("Reply YES ")[1][:6]
    wrong = bus.handle(cmd("confirm", text="YES 000000", **sms))
    assert wrong.error_code == "bad_code" and svc.queue.enqueued == []
    ok = bus.handle(cmd("confirm", text=f"yes {code}", **sms))
    assert ok.response_type is ResponseType.ACTION_STARTED and len(svc.queue.enqueued) == 1
    again = bus.handle(cmd("confirm", text=f"YES {code}", **sms))
    assert again.error_code == "bad_code" and len(svc.queue.enqueued) == 1


def test_confirm_tier_same_channel_yes_and_no(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    svc.owners.owners[OWNER.id] = OWNER.model_copy(update={"addons": ("custom_workflow",)})
    params = {"schedule": "every monday", "tasks": ["sales_report"]}
    ask = bus.handle(cmd("schedule_workflow", params))
    assert ask.confirm_intent
    yes = bus.handle(cmd("confirm"))
    assert yes.response_type is ResponseType.ACTION_STARTED and len(svc.queue.enqueued) == 1
    bus.handle(cmd("schedule_workflow", params))
    no = bus.handle(cmd("deny"))
    assert no.response_type is ResponseType.GOODBYE and len(svc.queue.enqueued) == 1
    denied = [c for c in svc.consents.records.values() if c.status is ConsentStatus.DENIED]
    assert len(denied) == 1


def test_manual_plan_gets_friendly_guide_not_a_run(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    reply = bus.handle(cmd("setup_integration", {"service": "stripe"}, owner="own_m"))
    assert reply.response_type is ResponseType.NOT_ENTITLED
    assert "AI-Assisted plan" in reply.text and reply.link
    assert svc.consents.records == {}


def test_workflow_needs_addon(world: dict[str, Any]) -> None:
    reply = world["bus"].handle(cmd("schedule_workflow", {"schedule": "every day", "tasks": ["sales_report"]}))
    assert reply.response_type is ResponseType.NOT_ENTITLED and "Custom Workflow" in reply.text


def test_reports_status_and_cancel(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    best = bus.handle(cmd("store_report", {"report": "best_sellers"}))
    assert "Blue Mug: 31" in best.text
    none = bus.handle(cmd("store_report", {"report": "sales_summary"}))  # the fake has no such rows: not synced
    assert "don't have your store data" in none.text
    assert "don't have any jobs" in bus.handle(cmd("job_status")).text
    run = svc.journal.create_run(
        owner_id=OWNER.id, recipe="r", params={}, consent_id=None, reply_route=ReplyRoute(channel=Channel.WIDGET)
    )
    assert bus.handle(cmd("job_status")).run_id == run.id
    cancel = bus.handle(cmd("cancel_job"))
    assert cancel.run_id == run.id and svc.journal.runs[run.id].cancel_requested
    assert svc.queue.enqueued == [run.id]  # woken at once, even if it was waiting for the owner


def test_other_owners_run_is_invisible(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    run = svc.journal.create_run(
        owner_id="someone_else", recipe="r", params={}, consent_id=None, reply_route=ReplyRoute(channel=Channel.WIDGET)
    )
    reply = bus.handle(cmd("job_status", {"run_id": run.id}))
    assert reply.run_id is None
    assert bus.handle(cmd("cancel_job", {"run_id": run.id})).run_id is None
    assert not svc.journal.runs[run.id].cancel_requested


def test_no_recipe_yet_answers_with_guide(world: dict[str, Any]) -> None:
    reply = world["bus"].handle(cmd("setup_integration", {"service": "mailchimp"}))
    assert reply.error_code == "no_recipe" and reply.link


def test_every_command_is_audited_started_and_finished(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    bus.handle(cmd("help"))
    phases = [(e.action, e.phase) for e in svc.audit.entries]
    assert phases == [("command.help", "started"), ("command.help", "finished")]


def test_replies_follow_the_request_locale(world: dict[str, Any]) -> None:
    bus = world["bus"]
    german = bus.handle(cmd("setup_integration", {"service": "woocommerce"}, locale="de-DE"))
    assert german.text == "Wie lautet die Adresse Ihres WooCommerce-Shops?" and german.locale == "de-DE"
    assert bus.handle(cmd("help", locale="de-DE")).suggestions[0] == "Zeig mir meine Bestseller"
    assert bus.handle(cmd("help")).suggestions[0] == "Show me your best sellers"


def test_a_repeated_ask_never_leaves_two_live_requests(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    params = {"service": "woocommerce", "store_url": "shop.example.com"}
    alexa = {"channel": Channel.ALEXA, "auth": AuthLevel.LINKED}
    bus.handle(cmd("setup_integration", params, **alexa))
    bus.handle(cmd("setup_integration", params, confirmation="confirmed", **alexa))
    statuses = sorted(c.status for c in svc.consents.records.values())
    assert statuses == [ConsentStatus.DENIED, ConsentStatus.PENDING]  # the first one is superseded


def test_confirm_tier_alexa_yes_approves_the_request_it_was_asked_about(world: dict[str, Any]) -> None:
    bus, svc = world["bus"], world["svc"]
    svc.owners.owners[OWNER.id] = OWNER.model_copy(update={"addons": ("custom_workflow",)})
    params = {"schedule": "every monday", "tasks": ["sales_report"]}
    alexa = {"channel": Channel.ALEXA, "auth": AuthLevel.LINKED}
    asked = bus.handle(cmd("schedule_workflow", params, **alexa))
    yes = bus.handle(cmd("schedule_workflow", params, confirmation="confirmed", **alexa))
    assert yes.response_type is ResponseType.ACTION_STARTED and len(svc.consents.records) == 1
    assert svc.consents.get(asked.consent.consent_id).status is ConsentStatus.APPROVED
