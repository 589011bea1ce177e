"""The German rules (``de-*`` locales): each intent's phrasings, schedules, periods, answers, spelling variants,
the ``omniops parse --locale de-DE`` command, and that English stays English."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest

from chat import nlu
from chat.nlu import RuleParser, extract_param, main_parse, parse
from chat.nlu.rules import ENGLISH, GERMAN, language_for
from core.intents import INTENTS
from voice.i18n import model_text

DE = "de-DE"


def _de(text: str) -> dict[str, Any]:
    return parse(text, locale=DE).as_json()


@pytest.mark.parametrize(
    ("text", "intent", "params"),
    [
        # setup_integration: services by brand and by German word, store address
        ("Richte WooCommerce ein", "setup_integration", {"service": "woocommerce"}),
        ("Ich möchte Zahlungen annehmen", "setup_integration", {"service": "stripe"}),
        ("Bitte den Newsletter einrichten", "setup_integration", {"service": "mailchimp"}),
        ("Verbinde das Chat-Widget", "setup_integration", {"service": "widget"}),
        ("Füge den E-Mail-Versand hinzu", "setup_integration", {"service": "sendgrid"}),
        (
            "Verbinden Sie Stripe mit https://Laden.Example.de/",
            "setup_integration",
            {"service": "stripe", "store_url": "https://laden.example.de"},
        ),
        # setup_store
        ("Richte meinen Laden ein", "setup_store", {}),
        ("Mach meinen Shopify-Shop startklar", "setup_store", {"platform": "shopify"}),
        ("Komplette Einrichtung bitte", "setup_store", {}),
        # migrate_store
        (
            "Ich will von Shopify zu WooCommerce umziehen",
            "migrate_store",
            {"source": "shopify", "target": "woocommerce"},
        ),
        ("Wechsle von WooCommerce nach Shopify", "migrate_store", {"source": "woocommerce", "target": "shopify"}),
        # schedule_workflow
        (
            "Jeden Montag um 9 Uhr einen Verkaufsbericht",
            "schedule_workflow",
            {"schedule": "every monday at 09:00", "tasks": ["sales_report"]},
        ),
        ("Täglich den Umsatzbericht", "schedule_workflow", {"schedule": "every day", "tasks": ["sales_report"]}),
        (
            "Wöchentlich den Lagerbestand auffüllen",
            "schedule_workflow",
            {"schedule": "every week", "tasks": ["restock_low_inventory"]},
        ),
        (
            "Montags knappe Artikel nachbestellen",
            "schedule_workflow",
            {"schedule": "every monday", "tasks": ["restock_low_inventory"]},
        ),
        (
            "Täglich um 17:30 einen Umsatzbericht",
            "schedule_workflow",
            {"schedule": "every day at 17:30", "tasks": ["sales_report"]},
        ),
        # store_report
        ("Was läuft knapp?", "store_report", {"report": "low_stock"}),
        ("Was ist wenig auf Lager?", "store_report", {"report": "low_stock"}),
        ("Was ist ausverkauft?", "store_report", {"report": "low_stock"}),
        (
            "Was hat sich gestern am meisten verkauft?",
            "store_report",
            {"report": "best_sellers", "period": "yesterday"},
        ),
        ("Meine Bestseller diese Woche", "store_report", {"report": "best_sellers", "period": "this_week"}),
        ("Umsatz heute", "store_report", {"report": "sales_summary", "period": "today"}),
        ("Verkäufe letzte Woche", "store_report", {"report": "sales_summary", "period": "last_week"}),
        ("Umsatz diesen Monat", "store_report", {"report": "sales_summary", "period": "this_month"}),
        ("Meistverkaufte Produkte letzten Monat", "store_report", {"report": "best_sellers", "period": "last_month"}),
        ("Umsatz der letzten 30 Tage", "store_report", {"report": "sales_summary", "period": "last_30_days"}),
        # job_status / cancel_job
        ("Wie läuft die Einrichtung?", "job_status", {}),
        ("Status", "job_status", {}),
        ("Status von run_ab12", "job_status", {"run_id": "run_ab12"}),
        ("Stopp den Auftrag", "cancel_job", {}),
        ("Brich die Migration ab", "cancel_job", {}),
        # list_integrations
        ("Was ist verbunden?", "list_integrations", {}),
        ("Ist Mailchimp eingerichtet?", "list_integrations", {}),
        # revoke_access: services and scheduled work
        ("Stoppe meine geplanten Aufgaben", "revoke_access", {"service": "schedules"}),
        ("den wöchentlichen Verkaufsbericht stoppen", "revoke_access", {"service": "sales_report"}),
        ("Keine automatischen Nachbestellungen mehr", "revoke_access", {"service": "restock_low_inventory"}),
        ("Trenne Stripe", "revoke_access", {"service": "stripe"}),
        ("Entziehe Shopify den Zugriff", "revoke_access", {"service": "shopify"}),
        # fix_integration
        ("Stripe funktioniert nicht", "fix_integration", {"service": "stripe"}),
        ("repariere WooCommerce", "fix_integration", {"service": "woocommerce"}),
        # export / delete
        ("Exportiere meine Daten", "export_data", {}),
        ("Lösche meine Daten", "delete_data", {}),
        ("Konto löschen", "delete_data", {}),
        # help
        ("Hilfe", "help", {}),
        ("Was kannst du?", "help", {}),
        # answers
        ("ja", "confirm", {}),
        ("genau", "confirm", {}),
        ("mach das", "confirm", {}),
        ("ok", "confirm", {}),
        ("nein", "deny", {}),
        ("lieber nicht", "deny", {}),
        ("abbrechen", "deny", {}),
        # out of scope
        ("Wie wird das Wetter?", "unknown", {}),
    ],
)
def test_german_phrasings(text: str, intent: str, params: dict[str, Any]) -> None:
    assert _de(text) == {"intent": intent, "params": params}


@pytest.mark.parametrize(
    "variants",
    [
        ("Lösche meine Daten", "Loesche meine Daten", "LÖSCHE MEINE DATEN!!", "lösche meine daten bitte"),
        ("Was läuft knapp?", "was laeuft knapp", "Was läuft knapp ?!"),
        ("Führe ein Update durch: wie weit bist du?", "Wie weit sind Sie?", "wie weit bist du"),
        (
            "Stoppe meine geplanten Aufgaben",
            "Bitte stoppen Sie meine geplanten Aufgaben.",
            "stoppe meine geplanten aufgaben",
        ),
        ("Verbinde Stripe", "Verbinden Sie bitte Stripe", "verbinde bitte stripe"),
        ("Umsatz der letzten 30 Tage", "Umsatz der letzten dreißig Tage", "umsatz der letzten dreissig tage"),
    ],
)
def test_umlauts_ascii_case_punctuation_and_polite_forms_read_alike(variants: tuple[str, ...]) -> None:
    results = [_de(v) for v in variants]
    assert all(r == results[0] for r in results), results


def test_deny_and_cancel_job_split_as_in_english() -> None:
    """A bare "abbrechen"/"stopp" answers a question (deny), as "cancel"/"stop" do; naming the job cancels it."""
    assert parse("cancel").intent == "deny" and _de("abbrechen")["intent"] == "deny"
    assert parse("stop").intent == "deny" and _de("Stopp")["intent"] == "deny"
    assert parse("cancel the job").intent == "cancel_job" and _de("Den Auftrag abbrechen")["intent"] == "cancel_job"
    assert parse("abort").intent == "cancel_job" and _de("Brich ab")["intent"] == "cancel_job"


@pytest.mark.parametrize(
    ("text", "schedule"),
    [
        ("jeden Montag um 9 Uhr", "every monday at 09:00"),
        ("täglich", "every day"),
        ("taeglich", "every day"),
        ("wöchentlich", "every week"),
        ("montags", "every monday"),
        ("immer freitags um 17:30", "every friday at 17:30"),
        ("jeden Tag um 17.30 Uhr", "every day at 17:30"),
        ("jeden Morgen", "every day at 09:00"),
        ("abends", "every day at 18:00"),
        ("jeden Sonntag um 8 Uhr abends", "every sunday at 20:00"),
        ("jeden Dienstag um halb neun", "every tuesday at 08:30"),
        ("einmal pro Woche", "every week"),
        ("jeden Mittwochmorgen", "every wednesday at 09:00"),
    ],
)
def test_german_schedules_normalize(text: str, schedule: str) -> None:
    assert _de(f"{text} einen Verkaufsbericht")["params"]["schedule"] == schedule
    assert extract_param("schedule_workflow", "schedule", text, DE) == schedule


@pytest.mark.parametrize("text", ["monatlich einen Verkaufsbericht", "jeden zweiten Montag nachbestellen"])
def test_unsupported_german_recurrences_ask_instead_of_guessing(text: str) -> None:
    result = _de(text)
    assert result["intent"] == "schedule_workflow" and "schedule" not in result["params"]


def test_answer_only_schedules_and_lone_days() -> None:
    assert extract_param("schedule_workflow", "schedule", "Montag", DE) == "every monday"
    assert extract_param("schedule_workflow", "schedule", "um 9", DE) == "every day at 09:00"
    assert extract_param("schedule_workflow", "schedule", "morgen", DE) is None  # "tomorrow" is no recurrence


@pytest.mark.parametrize(
    ("intent", "param", "text", "value"),
    [
        ("setup_integration", "service", "Zahlungen bitte", "stripe"),
        ("setup_integration", "service", "den Newsletter", "mailchimp"),
        ("setup_integration", "store_url", "Mein Shop ist unter www.mein-laden.de", "https://www.mein-laden.de"),
        ("setup_store", "platform", "mit Shopify", "shopify"),
        ("migrate_store", "source", "von Shopify", "shopify"),
        ("migrate_store", "target", "nach WooCommerce", "woocommerce"),
        ("schedule_workflow", "tasks", "Lagerbestand auffüllen", ["restock_low_inventory"]),
        ("schedule_workflow", "tasks", "beides", ["sales_report", "restock_low_inventory"]),
        ("store_report", "report", "die Bestseller", "best_sellers"),
        ("store_report", "report", "was knapp wird", "low_stock"),
        ("store_report", "period", "letzte Woche", "last_week"),
        ("revoke_access", "service", "meine geplanten Aufgaben", "schedules"),
        ("revoke_access", "service", "Stripe", "stripe"),
        ("fix_integration", "service", "das Pixel", "facebook_pixel"),
        ("job_status", "run_id", "r_9x", "r_9x"),
    ],
)
def test_german_answers_are_extracted(intent: str, param: str, text: str, value: Any) -> None:
    assert extract_param(intent, param, text, DE) == value
    assert RuleParser().extract_param(intent, param, text, locale="de-AT") == value


def test_answers_without_the_param_are_none() -> None:
    assert extract_param("setup_integration", "service", "keine Ahnung", DE) is None
    assert extract_param("store_report", "report", "ja", DE) is None


def test_locale_selects_the_rules() -> None:
    assert language_for("de-DE") is GERMAN and language_for("de-AT") is GERMAN and language_for("de") is GERMAN
    assert language_for("en-US") is ENGLISH and language_for("fr-FR") is ENGLISH and language_for("") is ENGLISH
    assert parse("Was läuft knapp?", locale="de-CH").params == {"report": "low_stock"}


def test_english_locales_keep_the_english_rules() -> None:
    """German text under an English locale stays not understood (the English rules are unchanged)."""
    assert parse("Stoppe meine geplanten Aufgaben", locale="en-US").intent == "unknown"
    assert parse("Was läuft knapp").intent == "unknown"


def test_german_locale_still_understands_english() -> None:
    """What the German rules do not understand is read once more with the English rules."""
    assert _de("what is running low") == {"intent": "store_report", "params": {"report": "low_stock"}}
    assert _de("yes") == {"intent": "confirm", "params": {}}
    assert extract_param("schedule_workflow", "schedule", "every monday at 9am", DE) == "every monday at 09:00"


def test_every_result_validates_through_the_registry() -> None:
    for text in ("Richte WooCommerce unter laden.de ein", "jeden Freitag um 25 Uhr Bericht", "Stoppe alles"):
        result = parse(text, locale=DE)
        assert INTENTS[result.intent].validate_params(result.params) == result.params


def test_voice_catalog_german_synonyms_are_understood() -> None:
    """The German Alexa model's synonyms (voice/locales/de-DE.json) mean the same to the typed-text rules."""
    synonyms = model_text(DE)["synonyms"]
    for service, words in synonyms["SERVICE"].items():
        for word in words:
            assert extract_param("setup_integration", "service", word, DE) == service, word
    for report, words in synonyms["REPORT"].items():
        for word in words:
            assert extract_param("store_report", "report", word, DE) == report, word
    for task, words in synonyms["TASK"].items():
        for word in words:
            assert extract_param("schedule_workflow", "tasks", word, DE) == [task], word
    for target, words in synonyms["REVOKE_TARGET"].items():
        for word in words:
            assert extract_param("revoke_access", "service", word, DE) == target, word
    for period, words in synonyms["PERIOD"].items():
        for word in words:
            assert extract_param("store_report", "period", word, DE) == period, word
    for key, words in synonyms["SCHEDULE"].items():
        for word in words:
            assert extract_param("schedule_workflow", "schedule", word, DE) == key.replace("_", " "), word


def test_main_parse_prints_german_json() -> None:
    out = io.StringIO()
    assert main_parse("Stoppe meine geplanten Aufgaben", "de-DE", out=out) == 0
    assert json.loads(out.getvalue()) == {"intent": "revoke_access", "params": {"service": "schedules"}}


def test_omniops_parse_locale_de(capsys: pytest.CaptureFixture[str]) -> None:
    top = argparse.ArgumentParser(prog="omniops")
    nlu.register_cli(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["parse", "Was läuft knapp?", "--locale", "de-DE"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out) == {"intent": "store_report", "params": {"report": "low_stock"}}
