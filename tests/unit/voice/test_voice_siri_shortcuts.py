"""Siri Shortcuts adapter: bearer token (injected resolver), text or intent bodies, speakable reply JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from core.commands import AuthLevel, Command, ConfirmationStatus, ConsentPrompt, Principal, Reply, ResponseType
from core.errors import AuthenticationRequired, InvalidParams, MalformedRequest, PayloadTooLarge
from core.intents import ConsentTier
from voice.siri_shortcuts import SiriShortcutsAdapter

OWNER = Principal(owner_id="own_1", auth=AuthLevel.TOKEN)
REVOKED = {"tok-revoked"}


def parser(text: str, locale: str) -> tuple[str, dict[str, Any]]:
    return ("setup_integration", {"service": "stripe"}) if "stripe" in text.lower() else ("unknown", {})


def resolve(token: str | None) -> Principal:
    if token == "tok-good":
        return OWNER
    if token in REVOKED:
        raise AuthenticationRequired("revoked")
    return Principal()


class Bus:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.commands: list[Command] = []

    def __call__(self, command: Command) -> Reply:
        self.commands.append(command)
        return self.reply


STARTED = Reply(
    text="Started.", response_type=ResponseType.ACTION_STARTED, run_id="run_1", status_url="https://x/v1/runs/run_1"
)
ADAPTER = SiriShortcutsAdapter(text_parser=parser, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer tok-revoked"}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}],
)
def test_missing_revoked_or_unknown_token_is_401(headers: dict[str, str]) -> None:
    bus = Bus(STARTED)
    with pytest.raises(AuthenticationRequired) as err:
        ADAPTER.handle(headers, b'{"text": "connect stripe"}', bus_handle=bus, resolve_owner=resolve)
    assert err.value.status == 401 and bus.commands == []
    assert "tok-" not in err.value.message


def test_text_body_goes_through_the_text_parser() -> None:
    bus = Bus(STARTED)
    out = ADAPTER.handle(
        {"authorization": "bearer tok-good", "Accept-Language": "de-DE,de;q=0.9"},
        b'{"text": "Connect Stripe"}',
        bus_handle=bus,
        resolve_owner=resolve,
    )
    (cmd,) = bus.commands
    assert (cmd.intent, cmd.params, cmd.text, cmd.locale) == (
        "setup_integration",
        {"service": "stripe"},
        "Connect Stripe",
        "de-DE",
    )
    assert out == {
        "speech": "Started.",
        "text": "Started.",
        "status": "action_started",
        "intent": None,
        "run_id": "run_1",
        "status_url": "https://x/v1/runs/run_1",
        "consent_hint": None,
        "link": None,
        "end": True,
        "error_code": None,
    }


def test_intent_body_is_validated_by_the_registry() -> None:
    bus = Bus(STARTED)
    body = {
        "intent": "setup_integration",
        "params": {"service": "woocommerce", "store_url": "Shop.Example.com/"},
        "confirm": True,
    }
    ADAPTER.handle(
        {"Authorization": "Bearer tok-good"}, json.dumps(body).encode(), bus_handle=bus, resolve_owner=resolve
    )
    cmd = bus.commands[0]
    assert cmd.params == {"service": "woocommerce", "store_url": "https://shop.example.com"}
    assert cmd.confirmation is ConfirmationStatus.CONFIRMED


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[1]", MalformedRequest),
        (b"not json", MalformedRequest),
        (b"{}", MalformedRequest),
        (json.dumps({"intent": "launch_rockets"}).encode(), InvalidParams),
        (json.dumps({"intent": "setup_integration", "params": {"service": "myspace"}}).encode(), InvalidParams),
        (json.dumps({"text": "x" * 9000}).encode(), PayloadTooLarge),
    ],
)
def test_bad_bodies(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        ADAPTER.handle({"Authorization": "Bearer tok-good"}, body, bus_handle=Bus(STARTED), resolve_owner=resolve)


def test_consent_reply_gives_hint_and_short_speech() -> None:
    consent = ConsentPrompt(
        consent_id="c1",
        action="setup",
        service="stripe",
        permissions=("write",),
        data_access=("orders",),
        duration="one-time",
        tier=ConsentTier.VERIFIED,
        expires_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    long_text = (
        "I've sent a link to your phone to approve setting up Stripe. " + "It covers payments and webhooks. " * 10
    )
    reply = Reply(text=long_text, response_type=ResponseType.CONSENT_REQUIRED, consent=consent, locale="de-DE")
    out = ADAPTER.render(reply)
    assert out["consent_hint"].startswith("Bestätige")
    assert len(out["speech"]) <= 220 and out["speech"].endswith(".")
    assert out["text"] == long_text
