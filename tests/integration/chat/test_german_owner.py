"""A German-speaking owner texts OmniOps or types to the widget: the real routes, the real rule parser, German
replies.

The owner's locale (``de-DE``) picks the German rules for the text and the German reply catalog; the bus
passes it on to the parser when it reads the answer to a question ("mein-laden.de"). "JA <code>" approves
the pending consent, as the German consent text asks.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from chat import nlu
from chat.sessions import WidgetSigner
from core.messagebus import MessageBus
from core.ports import RecipeInfo, ReportRow
from tests.chat_support import OWNER, SECRET, ChatTestContainer
from tests.integration.chat.test_sms_http import _commands, _message, _text


def _real_parse_text(text: str, locale: str) -> tuple[str, Mapping[str, Any]]:
    result = nlu.RuleParser().parse(text, locale=locale)  # what gateway.bootstrap wires without an OpenAI key
    return result.intent, result.params


@pytest.fixture
def german(container: ChatTestContainer) -> ChatTestContainer:
    """The chat container with the real NLU and a de-DE owner."""
    services = dataclasses.replace(container.services, extract_param=nlu.extract_param)
    container.services = services
    container.bus = MessageBus(services=services)
    container.parse_text = _real_parse_text
    container.owners.owners[OWNER.id] = OWNER.model_copy(update={"locale": "de-DE"})
    return container


@pytest.fixture
def client(app: Flask, german: ChatTestContainer) -> FlaskClient:
    return app.test_client()


def test_was_laeuft_knapp_without_store_data_gets_the_german_no_data_reply(
    client: FlaskClient, german: ChatTestContainer
) -> None:
    text = _message(_text(client, "Was läuft knapp?"))
    assert text.startswith("Ich habe noch keine Daten Ihres Shops"), text
    assert _commands(german) == ["command.store_report"]


def test_was_laeuft_knapp_gets_the_german_low_stock_answer(client: FlaskClient, german: ChatTestContainer) -> None:
    german.services.reports.rows[(OWNER.id, "low_stock")] = [ReportRow(label="Blaue Tasse", value=2)]
    text = _message(_text(client, "was laeuft knapp"))
    assert text.startswith("Geht zur Neige: Blaue Tasse: 2"), text


def test_german_setup_then_ja_code_approves_the_consent(client: FlaskClient, german: ChatTestContainer) -> None:
    asked = _message(_text(client, "Richte WooCommerce ein"))
    assert "Adresse" in asked and "WooCommerce" in asked, asked
    consent = _message(_text(client, "mein-laden.de"))
    match = re.search(r"\bJA (\d{6})\b", consent)
    assert match, consent
    records = list(german.services.consents.records.values())
    assert [r.status for r in records] == ["pending"]
    assert records[0].params["store_url"] == "https://mein-laden.de"
    approved = _message(_text(client, f"JA {match.group(1)}"))
    assert [r.status for r in german.services.consents.records.values()] == ["approved"], approved
    assert len(german.services.queue.enqueued) == 1


def test_nein_denies_the_german_consent(client: FlaskClient, german: ChatTestContainer) -> None:
    _text(client, "Richte WooCommerce ein")
    _text(client, "mein-laden.de")
    _message(_text(client, "Nein danke"))
    assert [r.status for r in german.services.consents.records.values()] == ["denied"]


def test_widget_message_without_locale_is_read_in_the_owners_language(
    client: FlaskClient, german: ChatTestContainer
) -> None:
    shop = "https://shop.example"
    signer = WidgetSigner(secret=SECRET)
    key = signer.issue_key(owner_id=OWNER.id, origins=(shop,), person_id=OWNER.id, now=german.fake_clock.now())
    session = client.post("/v1/chat/sessions", query_string={"key": key}, headers={"Origin": shop}, json={})
    assert session.status_code == 201, session.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {session.json['token']}", "Origin": shop}
    german.services.reports.rows[(OWNER.id, "low_stock")] = [ReportRow(label="Blaue Tasse", value=2)]
    reply = client.post("/v1/chat/messages", json={"text": "Was läuft knapp?"}, headers=headers)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert reply.json["text"].startswith("Geht zur Neige: Blaue Tasse: 2"), reply.json
    english = client.post("/v1/chat/messages", json={"text": "what is running low", "locale": "en-US"}, headers=headers)
    assert english.json["text"].startswith("Running low: Blaue Tasse: 2"), english.json  # the message's own locale


def test_the_widget_consent_card_of_a_german_owner_is_german_and_the_record_stays_english(
    client: FlaskClient, german: ChatTestContainer
) -> None:
    from executor.recipes import woocommerce

    german.services.recipes.infos["setup_integration:woocommerce"] = RecipeInfo(  # type: ignore[attr-defined]
        name="woocommerce.setup", declaration=woocommerce.DECLARATION, required=("store_url",)
    )
    shop = "https://shop.example"
    signer = WidgetSigner(secret=SECRET)
    key = signer.issue_key(owner_id=OWNER.id, origins=(shop,), person_id=OWNER.id, now=german.fake_clock.now())
    session = client.post("/v1/chat/sessions", query_string={"key": key}, headers={"Origin": shop}, json={})
    headers = {"Authorization": f"Bearer {session.json['token']}", "Origin": shop}
    client.post("/v1/chat/messages", json={"text": "Richte WooCommerce ein"}, headers=headers)
    card = client.post("/v1/chat/messages", json={"text": "mein-laden.de"}, headers=headers).json
    assert card["type"] == "consent_required", card
    assert card["text"].startswith("Ihren WooCommerce-Shop verbinden: einen REST-API-Schlüssel"), card["text"]
    consent = card["consent"]
    assert consent["action"].startswith("Ihren WooCommerce-Shop verbinden")
    assert consent["permissions"] == ["REST-API-Schlüssel mit Lese- und Schreibzugriff", "Webhooks erstellen"]
    assert consent["data_access"] == ["Produkte", "Bestellungen (letzte 30 Tage)", "Shop-Einstellungen"]
    assert consent["duration"] == "bis Sie die Zustimmung widerrufen"
    [record] = german.services.consents.records.values()
    assert record.declaration == woocommerce.DECLARATION  # what is hashed and approved stays as declared
