"""The Twilio SMS webhook through the gateway: signatures (incl. behind a proxy), owners, codes, STOP, HELP."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chat import sms
from core.commands import AuthLevel, Channel, Command, Principal, ReplyRoute
from tests.chat_support import OWNER, PUBLIC_URL, SMS_ROUTE, TWILIO_TOKEN, ChatTestContainer, run_event

PATH = "/v1/channels/twilio/sms"
PHONE = OWNER.verified_phones[0]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _form(body: str, phone: str = PHONE) -> dict[str, str]:
    return {
        "MessageSid": "SM" + secrets.token_hex(16),  # Twilio gives every message its own id
        "AccountSid": "AC" + "0" * 32,
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }


def _text(
    client: FlaskClient,
    body: str,
    *,
    phone: str = PHONE,
    signed_url: str = PUBLIC_URL + PATH,
    signature: str | None = None,
) -> Any:
    form = _form(body, phone)
    sig = signature if signature is not None else sms.compute_signature(signed_url, form, TWILIO_TOKEN)
    # The test client calls http://localhost/… — the internal URL a proxy forwards to, never the public one.
    return client.post(PATH, data=form, headers={"X-Twilio-Signature": sig})


def _message(resp: Any) -> str:
    assert resp.status_code == 200 and resp.mimetype == "text/xml", resp.get_data(as_text=True)
    node = ET.fromstring(resp.get_data(as_text=True)).find("Message")
    return "" if node is None else node.text or ""


def _commands(container: ChatTestContainer) -> list[str]:
    return [e.action for e in container.services.audit.entries if e.phase == "started"]


def test_good_signature_behind_a_proxy_dispatches(client: FlaskClient, container: ChatTestContainer) -> None:
    text = _message(_text(client, "set up my woocommerce store"))
    assert "WooCommerce store address" in text
    assert _commands(container) == ["command.setup_integration"]


def test_signature_on_the_internal_url_is_refused(client: FlaskClient, container: ChatTestContainer) -> None:
    resp = _text(client, "set up my woocommerce store", signed_url="http://localhost" + PATH)
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert _commands(container) == []


def test_bad_signature_is_403_and_nothing_dispatched(client: FlaskClient, container: ChatTestContainer) -> None:
    resp = _text(client, "delete my data", signature="bm90IGEgc2lnbmF0dXJl")
    assert resp.status_code == 403 and resp.json["code"] == "forbidden"
    assert client.post(PATH, data=_form("help")).status_code == 403  # no header at all
    assert _commands(container) == [] and container.sender.sent == []


def test_unknown_phone_gets_a_polite_reply_only(client: FlaskClient, container: ChatTestContainer) -> None:
    assert "isn't linked" in _message(_text(client, "set up stripe", phone="+15559990000"))
    assert _commands(container) == []


def _consent_code(client: FlaskClient) -> str:
    _text(client, "set up my woocommerce store")
    text = _message(_text(client, "shop.example.com"))
    assert "Reply YES" in text
    return text.split("Reply YES ")[1][:6]


def test_yes_with_wrong_code_does_not_approve(client: FlaskClient, container: ChatTestContainer) -> None:
    code = _consent_code(client)
    wrong = "000000" if code != "000000" else "111111"
    assert "isn't valid" in _message(_text(client, f"YES {wrong}"))
    assert container.services.queue.enqueued == []


def test_yes_twice_queues_exactly_one_run(client: FlaskClient, container: ChatTestContainer) -> None:
    code = _consent_code(client)
    first = _message(_text(client, f"yes {code}"))
    assert "setting up WooCommerce" in first and len(container.services.queue.enqueued) == 1
    second = _message(_text(client, f"YES {code}"))
    assert "already used" in second and len(container.services.queue.enqueued) == 1


def test_no_denies_the_pending_consent(client: FlaskClient, container: ChatTestContainer) -> None:
    _consent_code(client)
    assert "won't" in _message(_text(client, "NO"))
    assert [r.status for r in container.services.consents.records.values()] == ["denied"]


def test_help_answers_help(client: FlaskClient) -> None:
    assert "Reply STOP" in _message(_text(client, "HELP"))


def test_stop_then_no_outbound_messages(client: FlaskClient, container: ChatTestContainer) -> None:
    assert "unsubscribed" in _message(_text(client, "STOP"))
    assert container.sms_opt_outs.is_opted_out(PHONE)
    assert _message(_text(client, "set up my woocommerce store")) == ""  # silent, nothing dispatched
    assert _commands(container) == []
    # A voice request that would text an approval link, and a finished SMS run: neither is texted.
    alexa = Command(
        channel=Channel.ALEXA,
        principal=Principal(owner_id=OWNER.id, auth=AuthLevel.LINKED),
        intent="setup_integration",
        params={"service": "woocommerce", "store_url": "shop.example.com"},
        reply_route=ReplyRoute(channel=Channel.ALEXA),
        request_id="r-alexa",
        received_at=datetime(2026, 11, 26, tzinfo=UTC),
        confirmation="confirmed",
    )
    container.bus.handle(alexa)
    container.services.notifier.run_event(run_event("run_1", 5, "succeeded", "WooCommerce is connected"), SMS_ROUTE)
    assert container.sender.sent == []
    assert "subscribed" in _message(_text(client, "START"))
    container.services.notifier.run_event(run_event("run_1", 5, "succeeded", "WooCommerce is connected"), SMS_ROUTE)
    assert container.sender.sent == [(PHONE, "OmniOps: Done: WooCommerce is connected")]


def test_notifier_texts_link_with_code_and_only_terminal_sms_or_voice_events(container: ChatTestContainer) -> None:
    notifier = container.services.notifier
    alexa = Command(
        channel=Channel.ALEXA,
        principal=Principal(owner_id=OWNER.id, auth=AuthLevel.LINKED),
        intent="setup_integration",
        params={"service": "woocommerce", "store_url": "shop.example.com"},
        reply_route=ReplyRoute(channel=Channel.ALEXA),
        request_id="r-alexa",
        received_at=datetime(2026, 11, 26, tzinfo=UTC),
        confirmation="confirmed",
    )
    container.bus.handle(alexa)
    ((to, body),) = container.sender.sent
    assert to == PHONE and "/consent/" in body and "reply YES " in body
    notifier.run_event(run_event("run_1", 1, "step_done", "Keys created"), SMS_ROUTE)
    notifier.run_event(run_event("run_1", 2, "succeeded", "Done"), ReplyRoute(channel=Channel.WIDGET, to="ws_1"))
    notifier.run_event(run_event("run_1", 2, "failed", "Store unreachable"), ReplyRoute(channel=Channel.ALEXA))
    assert container.sender.sent[1:] == [(PHONE, "OmniOps: Failed: Store unreachable")]


def test_twiml_reply_is_escaped(client: FlaskClient, container: ChatTestContainer) -> None:
    resp = _text(client, "what can you do")
    assert resp.get_data(as_text=True).startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "'Set up WooCommerce'" in _message(resp)  # apostrophes survive; XML parses


def test_sms_rate_limit_per_phone_is_429(tmp_path: Any) -> None:
    from gateway.app import create_app
    from gateway.ratelimit import Rule
    from tests.chat_support import build_chat_container

    limited = build_chat_container(tmp_path / "rl", rules={"sms_phone": Rule(limit=1, window_seconds=60)})
    client = create_app(container=limited).test_client()
    assert _text(client, "help").status_code == 200
    resp = _text(client, "help")
    assert resp.status_code == 429 and resp.mimetype == "application/problem+json" and resp.headers["Retry-After"]
    limited.close()


def test_the_same_message_delivered_again_is_dispatched_once(client: FlaskClient, container: ChatTestContainer) -> None:
    # regression (chaos suite): Twilio redelivers a message it saw no answer for; one message, one command
    form = _form("what's connected")
    sig = sms.compute_signature(PUBLIC_URL + PATH, form, TWILIO_TOKEN)
    first = client.post(PATH, data=form, headers={"X-Twilio-Signature": sig})
    again = client.post(PATH, data=form, headers={"X-Twilio-Signature": sig})
    assert _message(first) and _message(again) == ""
    assert len(_commands(container)) == 1, _commands(container)


def test_notifier_wraps_run_results_in_the_runs_locale(container: ChatTestContainer) -> None:
    """The run's locale travels in the texted event's data (the runner puts it there); without it, the owner's."""
    notifier = container.services.notifier
    german = {"locale": "de-DE"}

    def event(seq: int, kind: str, message: str, data: dict[str, Any]) -> Any:
        return run_event("run_de", seq, kind, message).model_copy(update={"data": data})

    notifier.run_event(event(1, "waiting_for_owner", "Bitte geben Sie OmniOps frei: https://x", german), SMS_ROUTE)
    notifier.run_event(event(2, "compensated", "Das ging schief.", german), SMS_ROUTE)
    notifier.run_event(event(3, "cancelled", "Abgebrochen.", german), SMS_ROUTE)
    notifier.run_event(event(4, "succeeded", "Fertig.", german), SMS_ROUTE)
    notifier.run_event(event(5, "succeeded", "Done.", {}), SMS_ROUTE)  # the owner's locale: en-US
    container.owners.owners[OWNER.id] = OWNER.model_copy(update={"locale": "de-DE"})
    notifier.run_event(event(6, "failed", "Das ging schief.", {}), SMS_ROUTE)
    assert [body for _, body in container.sender.sent] == [
        "OmniOps braucht Sie: Bitte geben Sie OmniOps frei: https://x",
        "OmniOps: Fehlgeschlagen: Das ging schief.",
        "OmniOps: Abgebrochen: Abgebrochen.",
        "OmniOps: Fertig: Fertig.",
        "OmniOps: Done: Done.",
        "OmniOps: Fehlgeschlagen: Das ging schief.",
    ]
