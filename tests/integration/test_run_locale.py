"""A German owner hears German from the run, not only from the bus: on the real container (real recipes, runner,
journal and SMS notifier, texting through the Twilio sandbox), a ``de-DE`` run's progress events, its summary and
the texts wrapped around them are German, and so is the consent link texted for a ``de-DE`` request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.commands import AuthLevel, Channel, Command, ConfirmationStatus, Principal, Reply, ReplyRoute
from core.events import RunEventKind
from gateway.bootstrap import Container, build_container
from gateway.settings import Settings
from sandbox.server import Sandbox, start_sandbox

PHONE = "+15550002222"
WEEKLY = {"schedule": "every monday at 09:00", "tasks": ["sales_report", "restock_low_inventory"]}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox(host="127.0.0.1", port=0, seed=0)
    yield sb
    sb.stop()


@pytest.fixture
def container(sandbox: Sandbox, tmp_path: Path) -> Iterator[Container]:
    info = sandbox.describe()
    twilio = info["twilio_credentials"]
    c = build_container(
        Settings(
            var_dir=tmp_path / "var",
            env="test",
            twilio_base_url=info["twilio"],
            twilio_account_sid=twilio["account_sid"],
            twilio_auth_token=twilio["auth_token"],
            twilio_from=twilio["from_numbers"][0],
        )
    )
    yield c
    c.close()


@pytest.fixture
def owner_id(container: Container) -> str:
    """A German AI-Assisted owner with the Custom Workflow add-on, a verified phone and a synced store."""
    owner = container.owners.create_owner(
        name="Kaffeehaus", plan="ai_assisted", addons=("custom_workflow",), locale="de-DE", timezone="Europe/Berlin"
    )
    phone = container.owners.add_phone(owner.id, PHONE)
    container.owners.phones.mark_verified(owner.id, phone.id, agent="test")
    now = datetime.now(UTC)
    container.catalog.upsert_products(
        owner.id,
        [
            {
                "id": 1,
                "name": "Blaue Tasse",
                "sku": "B",
                "price": "15.00",
                "manage_stock": True,
                "stock_quantity": 2,
                "stock_status": "instock",
                "total_sales": 40,
            },
            {
                "id": 2,
                "name": "Rote Tasse",
                "sku": "R",
                "price": "15.00",
                "manage_stock": True,
                "stock_quantity": 0,
                "stock_status": "outofstock",
                "total_sales": 12,
            },
        ],
    )
    container.catalog.upsert_orders(
        owner.id,
        [
            {
                "id": 101,
                "status": "completed",
                "total": "30.00",
                "currency": "EUR",
                "date_created_gmt": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                "line_items": [{"name": "Blaue Tasse", "quantity": 2, "product_id": 1}],
            },
        ],
    )
    return owner.id


def say(c: Container, owner_id: str, intent: str, params: dict[str, Any] | None = None, **kw: Any) -> Reply:
    """A German command from the owner's Siri Shortcut (its results are texted to the owner)."""
    return c.bus.handle(
        Command(
            channel=Channel.SIRI,
            principal=Principal(owner_id=owner_id, auth=AuthLevel.TOKEN),
            intent=intent,
            params=params or {},
            reply_route=ReplyRoute(channel=Channel.SIRI),
            request_id="req-de",
            received_at=datetime.now(UTC),
            session_id="siri-de",
            locale="de-DE",
            **kw,
        )
    )


def finished(c: Container, run_id: str) -> Any:
    while c.executor.queue.work_once():
        pass
    run = c.journal.get_run(run_id)
    assert run is not None and run.status in ("succeeded", "failed", "cancelled", "compensated"), run
    return run


def texts(sandbox: Sandbox) -> list[str]:
    return [str(m["body"]) for m in sandbox.twilio.messages_to(PHONE)]


def test_a_german_run_reports_progress_and_its_summary_in_german_and_texts_german(
    container: Container, owner_id: str, sandbox: Sandbox
) -> None:
    assert say(container, owner_id, "schedule_workflow", WEEKLY).response_type == "question"
    started = say(container, owner_id, "confirm")
    assert started.response_type == "action_started" and started.run_id, started
    run = finished(container, started.run_id)
    assert run.status == "succeeded", run.error
    assert run.locale == "de-DE"
    assert run.summary.startswith(
        "Fertig! Ich schicke Ihnen per SMS einen Verkaufsbericht und eine Nachbestellliste für knappe Artikel "
        "jeden Montag um 09:00 (Zeitzone Europe/Berlin), zum ersten Mal am Montag, "
    )
    assert "(Zeitzone Europe/Berlin)" in run.summary and "„Stoppe meine geplanten Aufgaben“" in run.summary

    events = list(container.journal.events(run.id))
    story = [(e.kind, e.message) for e in events]
    assert story[:4] == [
        (RunEventKind.QUEUED, "In der Warteschlange."),
        (RunEventKind.STARTED, "Gestartet: workflow.schedule."),
        (RunEventKind.STEP_STARTED, "Ihre Shop-Daten prüfen"),
        (RunEventKind.STEP_DONE, "Ihre Shop-Daten sind synchronisiert"),
    ]
    assert story[4] == (RunEventKind.STEP_STARTED, "Zeitplan anlegen")
    assert story[5][0] is RunEventKind.STEP_DONE and story[5][1].startswith("Geplant: ")
    assert story[-1] == (RunEventKind.SUCCEEDED, run.summary)
    assert events[-1].data["locale"] == "de-DE"
    assert texts(sandbox)[-1] == f"OmniOps: Fertig: {run.summary}"

    # the slot comes round: the scheduled run is German too (the locale the grant was given in)
    [record] = container.schedules.active(owner_id)
    [slot_run] = container.executor.scheduler.tick(now=record.next_run_at + timedelta(seconds=2))
    slot = finished(container, slot_run)
    assert slot.status == "succeeded", slot.error
    # (the two tasks run in parallel; the summary lists them in the recipe's order, not the order they finished in)
    assert slot.summary.startswith(
        "Umsatz der letzten 7 Tage: 1 Bestellung, 30.00 EUR; Bestseller Blaue Tasse (2 verkauft). "
        "Nachbestellen: Rote Tasse (ausverkauft, 0 verkauft in 30 Tagen); Blaue Tasse (noch 2 übrig, "
    )
    assert any(slot.summary in body for body in texts(sandbox))

    # and stopping it
    assert say(container, owner_id, "revoke_access", {"service": "schedules"}).response_type == "question"
    stopped = finished(container, str(say(container, owner_id, "confirm").run_id))
    assert stopped.status == "succeeded", stopped.error
    assert stopped.summary.startswith("Gestoppt: ")
    assert stopped.summary.endswith(
        "Die dauerhafte Zustimmung dafür ist widerrufen, und es wird nichts mehr ausgeführt."
    )
    assert texts(sandbox)[-1] == f"OmniOps: Fertig: {stopped.summary}"


def test_a_german_voice_request_texts_the_consent_link_in_german(
    container: Container, owner_id: str, sandbox: Sandbox
) -> None:
    before = len(texts(sandbox))
    container.bus.handle(
        Command(
            channel=Channel.ALEXA,
            principal=Principal(owner_id=owner_id, auth=AuthLevel.LINKED),
            intent="setup_integration",
            params={"service": "woocommerce", "store_url": "https://shop.example.com"},
            reply_route=ReplyRoute(channel=Channel.ALEXA),
            request_id="r-alexa-de",
            received_at=datetime.now(UTC),
            confirmation=ConfirmationStatus.CONFIRMED,
            locale="de-DE",
        )
    )
    [body] = texts(sandbox)[before:]
    assert body.startswith(  # the declaration in German; the stored one stays as the recipe declared it
        "OmniOps möchte: Ihren WooCommerce-Shop verbinden: einen REST-API-Schlüssel mit Lese- und Schreibzugriff "
        "erstellen, Ihre Produkte und aktuellen Bestellungen synchronisieren und Webhooks registrieren, die den "
        "Katalog aktuell halten. Bestätigen: "
    )
    assert "Bestätigen: " in body and "/consent/" in body
    assert " oder antworten Sie JA " in body and body.endswith("Antworten Sie NEIN, um abzubrechen.")


def test_a_german_sms_setup_asks_in_german_and_the_approved_grant_still_matches_the_recipe(
    container: Container, owner_id: str
) -> None:
    """The question and the card are German; the consent stores the English declaration, so its hash is the
    recipe's, and the run approved with "JA <code>" passes the runner's grant check."""

    def text(intent: str, params: dict[str, Any], body: str) -> Reply:
        return container.bus.handle(
            Command(
                channel=Channel.SMS,
                principal=Principal(owner_id=owner_id, auth=AuthLevel.VERIFIED_PHONE),
                intent=intent,
                params=params,
                text=body,
                reply_route=ReplyRoute(channel=Channel.SMS, to=PHONE),
                request_id=f"sms-{intent}",
                received_at=datetime.now(UTC),
                session_id=f"sms:{PHONE}",
                locale="de-DE",
            )
        )

    params = {"service": "woocommerce", "store_url": "https://shop.example.com"}
    asked = text("setup_integration", params, "Richte WooCommerce ein: shop.example.com")
    assert asked.response_type == "consent_required", asked
    assert asked.text.startswith(
        "OmniOps möchte: Ihren WooCommerce-Shop verbinden: einen REST-API-Schlüssel mit Lese- und Schreibzugriff "
        "erstellen, Ihre Produkte und aktuellen Bestellungen synchronisieren und Webhooks registrieren, die den "
        "Katalog aktuell halten. Berechtigungen: REST-API-Schlüssel mit Lese- und Schreibzugriff, Webhooks "
        "erstellen. Dauer: bis Sie die Zustimmung widerrufen. Antworten Sie mit JA "
    ), asked.text
    assert asked.consent is not None
    assert asked.consent.permissions == ("REST-API-Schlüssel mit Lese- und Schreibzugriff", "Webhooks erstellen")
    assert asked.consent.data_access == ("Produkte", "Bestellungen (letzte 30 Tage)", "Shop-Einstellungen")

    recipe = container.executor.recipes.get("woocommerce.setup")
    record = container.consents.get(asked.consent.consent_id)
    assert record.declaration == recipe.declaration  # English, exactly as declared
    assert record.params_hash == recipe.params_hash(record.params)

    code = re.search(r"\bJA (\d{6})\b", asked.text)
    assert code, asked.text
    started = text("confirm", {}, f"JA {code.group(1)}")
    assert started.response_type == "action_started" and started.run_id, started
    run = container.journal.get_run(started.run_id)
    assert run.params_hash == recipe.params_hash(run.params) == record.params_hash
    granted = container.consents.check_grant(run.consent_id, owner_id=owner_id, params_hash=run.params_hash)
    assert granted.status == "approved" and granted.declaration.action.startswith("Connect your WooCommerce store")
