"""Alexa parse and render over plain dicts (no I/O); responses checked against ask-sdk-model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.commands import (
    AuthLevel,
    Card,
    Channel,
    Command,
    ConfirmationStatus,
    Principal,
    Reply,
    ResponseType,
)
from tests.voice_testkit import alexa_envelope, alexa_request_model, alexa_schema_roundtrip, er_slot
from voice.alexa import parse, render, ssml

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
OWNER = Principal(owner_id="own_1", auth=AuthLevel.LINKED)


def _parse(env: dict[str, Any], principal: Principal | None = OWNER) -> Any:
    alexa_request_model(env)
    return parse(env, principal=principal, now=NOW)


def test_intent_request_becomes_command_with_route_and_session() -> None:
    cmd = _parse(alexa_envelope(intent="SetupStoreIntent", locale="de-DE"))
    assert isinstance(cmd, Command)
    assert (cmd.channel, cmd.intent, cmd.params, cmd.locale) == (Channel.ALEXA, "setup_store", {}, "de-DE")
    assert cmd.reply_route.channel is Channel.ALEXA and cmd.reply_route.to == "amzn1.ask.account.TESTUSER"
    assert cmd.principal.owner_id == "own_1" and cmd.session_id == "amzn1.echo-api.session.TEST"
    assert cmd.request_id.startswith("amzn1.echo-api.request.") and cmd.received_at == NOW


def test_entity_resolution_id_wins_over_spoken_words() -> None:
    slots = {"service": er_slot("service", "woo commerce shop", "woocommerce")}
    cmd = _parse(alexa_envelope(intent="SetupIntegrationIntent", slots=slots))
    assert cmd.params == {"service": "woocommerce"}


def test_unresolved_slot_falls_back_to_registry_synonyms_then_drops() -> None:
    slots = {"service": er_slot("service", "Stripe Payments", None)}
    assert _parse(alexa_envelope(intent="SetupIntegrationIntent", slots=slots)).params == {"service": "stripe"}
    slots = {"service": er_slot("service", "quantum ledger", "x", status="ER_SUCCESS_NO_MATCH")}
    assert _parse(alexa_envelope(intent="SetupIntegrationIntent", slots=slots)).params == {}


def test_store_address_spoken_with_dots_is_normalized() -> None:
    slots = {
        "service": er_slot("service", "woocommerce", "woocommerce"),
        "store_url": er_slot("store_url", "shop dot example dot com", None),
    }
    cmd = _parse(alexa_envelope(intent="SetupIntegrationIntent", slots=slots))
    assert cmd.params == {"service": "woocommerce", "store_url": "https://shop.example.com"}


def test_multi_value_and_schedule_slots() -> None:
    tasks = {
        "name": "tasks",
        "confirmationStatus": "NONE",
        "slotValue": {
            "type": "List",
            "values": [
                {"type": "Simple", "value": "restock"},
                {"type": "Simple", "value": "sales report"},
            ],
        },
    }
    slots = {"schedule": er_slot("schedule", "every monday", "every_monday"), "tasks": tasks}
    cmd = _parse(alexa_envelope(intent="ScheduleWorkflowIntent", slots=slots))
    assert cmd.params == {"schedule": "every monday", "tasks": ["sales_report", "restock_low_inventory"]}


@pytest.mark.parametrize(
    ("words", "value_id"),
    [("my schedules", "schedules"), ("weekly sales report", "sales_report"), ("restock", "restock_low_inventory")],
)
def test_revoke_access_slot_resolved_to_scheduled_work(words: str, value_id: str) -> None:
    slots = {"service": er_slot("service", words, value_id)}
    cmd = _parse(alexa_envelope(intent="RevokeAccessIntent", slots=slots))
    assert isinstance(cmd, Command)
    assert (cmd.intent, cmd.params) == ("revoke_access", {"service": value_id})


def test_revoke_access_unresolved_words_use_the_revoke_target_synonyms() -> None:
    slots = {"service": er_slot("service", "Automations", None)}
    assert _parse(alexa_envelope(intent="RevokeAccessIntent", slots=slots)).params == {"service": "schedules"}
    slots = {"service": er_slot("service", "stripe payments", None)}
    assert _parse(alexa_envelope(intent="RevokeAccessIntent", slots=slots)).params == {"service": "stripe"}


def test_setup_integration_never_takes_a_schedule_as_its_service() -> None:
    slots = {"service": er_slot("service", "my schedules", "schedules")}
    assert _parse(alexa_envelope(intent="SetupIntegrationIntent", slots=slots)).params == {}
    slots = {"service": er_slot("service", "automations", None)}
    assert _parse(alexa_envelope(intent="FixIntegrationIntent", slots=slots)).params == {}


@pytest.mark.parametrize(
    ("alexa", "ours"),
    [
        ("AMAZON.HelpIntent", "help"),
        ("AMAZON.YesIntent", "confirm"),
        ("AMAZON.NoIntent", "deny"),
        ("AMAZON.FallbackIntent", "unknown"),
        ("CancelJobIntent", "cancel_job"),
        ("SomethingElseIntent", "unknown"),
    ],
)
def test_builtins_map_to_registry_intents(alexa: str, ours: str) -> None:
    assert _parse(alexa_envelope(intent=alexa)).intent == ours


@pytest.mark.parametrize("alexa", ["AMAZON.StopIntent", "AMAZON.CancelIntent"])
def test_stop_and_cancel_say_goodbye_not_cancel_job(alexa: str) -> None:
    reply = _parse(alexa_envelope(intent=alexa))
    assert isinstance(reply, Reply) and reply.response_type is ResponseType.GOODBYE
    out = render(reply)
    assert out["response"]["shouldEndSession"] is True
    alexa_schema_roundtrip(out)


@pytest.mark.parametrize(("status", "expected"), [("CONFIRMED", "confirmed"), ("DENIED", "denied"), ("NONE", "none")])
def test_confirmation_status_is_carried(status: str, expected: str) -> None:
    cmd = _parse(alexa_envelope(intent="RevokeAccessIntent", confirmation=status))
    assert cmd.confirmation is ConfirmationStatus(expected)


def test_launch_welcome_keeps_session_open_and_is_localized() -> None:
    reply = _parse(alexa_envelope(request_type="LaunchRequest", intent=None, locale="de-DE"))
    out = render(reply)
    alexa_schema_roundtrip(out)
    assert "Willkommen" in out["response"]["outputSpeech"]["ssml"]
    assert out["response"]["shouldEndSession"] is False and "reprompt" in out["response"]


def test_unlinked_user_gets_link_account_but_help_still_works() -> None:
    reply = _parse(alexa_envelope(intent="SetupStoreIntent", token=None), principal=None)
    out = render(reply)
    alexa_schema_roundtrip(out)
    assert out["response"]["card"] == {"type": "LinkAccount"}
    anonymous = Principal()
    assert _parse(alexa_envelope(intent="AMAZON.HelpIntent", token=None), principal=anonymous).intent == "help"
    launch = _parse(alexa_envelope(request_type="LaunchRequest", intent=None, token=None), principal=None)
    assert launch.response_type is ResponseType.LINK_ACCOUNT


def test_session_ended_and_can_fulfill() -> None:
    ended = _parse(
        alexa_envelope(request_type="SessionEndedRequest", intent=None, extra_request={"reason": "USER_INITIATED"})
    )
    assert ended == {"version": "1.0", "response": {}}
    alexa_schema_roundtrip(ended)
    slots = {"service": {"name": "service", "value": "stripe"}}
    yes = _parse(alexa_envelope(request_type="CanFulfillIntentRequest", intent="SetupIntegrationIntent", slots=slots))
    assert yes["response"]["canFulfillIntent"]["canFulfill"] == "YES"
    alexa_schema_roundtrip(yes)
    no = _parse(alexa_envelope(request_type="CanFulfillIntentRequest", intent="OrderPizzaIntent"))
    assert no["response"]["canFulfillIntent"]["canFulfill"] == "NO"


def test_ssml_is_escaped() -> None:
    text = 'Tom & Jerry\'s <store> said "hi"'
    assert ssml(text) == "<speak>Tom &amp; Jerry&apos;s &lt;store&gt; said &quot;hi&quot;</speak>"
    out = render(Reply(text=text, response_type=ResponseType.QUERY_ANSWER))
    alexa_schema_roundtrip(out)
    assert "<store>" not in out["response"]["outputSpeech"]["ssml"]


def test_question_has_reprompt_and_open_session() -> None:
    reply = Reply(
        text="Which report?", response_type=ResponseType.QUESTION, end_conversation=False, reprompt="Which one?"
    )
    out = render(reply)
    alexa_schema_roundtrip(out)
    assert out["response"]["shouldEndSession"] is False
    assert out["response"]["reprompt"]["outputSpeech"]["ssml"] == "<speak>Which one?</speak>"


def test_elicit_slot_directive_carries_request_intent() -> None:
    env = alexa_envelope(intent="SetupIntegrationIntent", slots={"service": er_slot("service", "woo", "woocommerce")})
    reply = Reply(
        text="What is your WooCommerce store address?",
        response_type=ResponseType.QUESTION,
        end_conversation=False,
        elicit_param="store_url",
        intent="setup_integration",
    )
    out = render(reply, intent=env["request"]["intent"])
    alexa_schema_roundtrip(out)
    (directive,) = out["response"]["directives"]
    assert directive["type"] == "Dialog.ElicitSlot" and directive["slotToElicit"] == "store_url"
    assert directive["updatedIntent"]["name"] == "SetupIntegrationIntent"
    assert directive["updatedIntent"]["slots"]["service"]["value"] == "woo"
    assert out["response"]["shouldEndSession"] is False


def test_confirm_intent_directive_and_simple_card() -> None:
    reply = Reply(
        text="OmniOps will remove its access to Stripe and delete the keys. Shall I go ahead?",
        response_type=ResponseType.CONSENT_REQUIRED,
        end_conversation=False,
        confirm_intent=True,
        intent="revoke_access",
        card=Card(title="Revoke Stripe", text="Remove access & delete keys"),
    )
    out = render(reply)
    alexa_schema_roundtrip(out)
    assert out["response"]["directives"][0]["type"] == "Dialog.ConfirmIntent"
    assert out["response"]["directives"][0]["updatedIntent"]["name"] == "RevokeAccessIntent"
    assert out["response"]["card"] == {
        "type": "Simple",
        "title": "Revoke Stripe",
        "content": "Remove access & delete keys",
    }


def test_session_attributes_are_echoed() -> None:
    out = render(Reply(text="ok", response_type=ResponseType.ACTION_DONE), session_attributes={"turn": 2})
    alexa_schema_roundtrip(out)
    assert out["sessionAttributes"] == {"turn": 2}


def test_elicit_of_a_param_the_intent_lacks_is_a_plain_question() -> None:
    reply = Reply(
        text="Which platform?",
        response_type=ResponseType.QUESTION,
        end_conversation=False,
        elicit_param="platform",
        intent="setup_integration",
    )
    out = render(reply)
    alexa_schema_roundtrip(out)
    assert "directives" not in out["response"]
    assert out["response"]["shouldEndSession"] is False
