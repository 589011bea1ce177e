"""A consent declaration is shown in the owner's language; the stored (hashed) declaration stays English."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from core import consent_text as ct
from core.consent_text import ConsentText, declaration_text, duration_key, key_base
from core.ports import ConsentDeclaration
from executor.recipes.workflows import schedule_declaration
from tests.unit.core.test_i18n import _real_recipes

LOCALES = Path(__file__).resolve().parents[3] / "core" / "locales"
WEEKLY = {"schedule": "every monday at 09:00", "tasks": ["sales_report", "restock_low_inventory"]}
#: params a command for each recipe carries (the service chooses the recipe; the rest is not in the keys)
PARAMS: dict[str, dict[str, Any]] = {
    "woocommerce.setup": {"service": "woocommerce", "store_url": "https://shop.example"},
    "stripe.setup": {"service": "stripe"},
    "woocommerce.fix": {"service": "woocommerce"},
    "stripe.fix": {"service": "stripe"},
    "woocommerce.revoke": {"service": "woocommerce"},
    "stripe.revoke": {"service": "stripe"},
    "workflow.revoke": {"service": "schedules"},
    "privacy.export": {},
    "privacy.delete": {},
    "workflow.schedule": WEEKLY,
}


def _catalog(locale: str) -> dict[str, str]:
    return json.loads((LOCALES / f"{locale}.json").read_text())["messages"]  # type: ignore[no-any-return]


def _declarations() -> list[tuple[str, str, dict[str, Any], ConsentDeclaration]]:
    out = []
    for recipe in _real_recipes():
        if not recipe.serves_commands:
            continue  # workflow.occurrence: started by the scheduler under the schedule's grant
        params = PARAMS[recipe.name]
        out.append((recipe.name, recipe.intent, params, recipe.declaration_for(params)))
    assert {name for name, *_ in out} == set(PARAMS)
    return out


@pytest.mark.parametrize(("name", "intent", "params", "declaration"), _declarations(), ids=lambda v: str(v)[:24])
def test_every_recipe_declaration_has_a_complete_german_translation(
    name: str, intent: str, params: dict[str, Any], declaration: ConsentDeclaration
) -> None:
    own = ConsentText.of(declaration)
    german = declaration_text(intent, params, declaration, "de-DE")
    assert german != own, name
    assert len(german.permissions) == len(declaration.permissions)
    assert len(german.data_access) == len(declaration.data_access)
    for english, translated in zip(
        (own.action, *own.permissions, *own.data_access, own.duration),
        (german.action, *german.permissions, *german.data_access, german.duration),
        strict=True,
    ):
        assert translated and translated != english, (name, english)
    assert declaration_text(intent, params, declaration, "de-AT") == german  # same language


@pytest.mark.parametrize(("name", "intent", "params", "declaration"), _declarations(), ids=lambda v: str(v)[:24])
def test_the_english_catalog_entries_are_the_recipes_own_words(
    name: str, intent: str, params: dict[str, Any], declaration: ConsentDeclaration
) -> None:
    """The en-US entries must stay equal to what each recipe declares (they gate the German ones at run time)."""
    english = _catalog("en-US")
    base = key_base(intent, params)
    assert base is not None, name
    assert ct._render("en-US", base, declaration, params) == ConsentText.of(declaration), name
    assert english[duration_key(declaration.duration)] == declaration.duration


def test_no_stale_consent_keys() -> None:
    used: set[str] = set()
    for _, intent, params, declaration in _declarations():
        base = key_base(intent, params)
        used |= {f"{base}.action", duration_key(declaration.duration)}
        used |= {f"{base}.permissions.{n}" for n in range(len(declaration.permissions))}
        used |= {f"{base}.data_access.{n}" for n in range(len(declaration.data_access))}
    declared = {k for k in _catalog("en-US") if re.match(r"consent\.(?!page\.)", k)}
    assert declared == used


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "fr-FR", None])
def test_english_and_untranslated_locales_get_the_stored_declaration_itself(locale: str | None) -> None:
    for _, intent, params, declaration in _declarations():
        text = declaration_text(intent, params, declaration, locale)
        assert text == ConsentText.of(declaration)
        assert text.action is declaration.action and text.duration is declaration.duration  # not re-rendered


def test_revoking_by_task_name_is_the_schedules_revoke() -> None:
    [revoke] = [d for name, _, _, d in _declarations() if name == "workflow.revoke"]
    by_task = declaration_text("revoke_access", {"service": "sales_report"}, revoke, "de-DE")
    assert by_task.action.startswith("Ihre geplanten Aufgaben stoppen")
    assert by_task == declaration_text("revoke_access", {"service": "schedules"}, revoke, "de-DE")


def test_a_schedules_german_action_names_the_german_schedule() -> None:
    declaration = schedule_declaration(WEEKLY)
    assert declaration.action.startswith(
        "Text you a sales report and a restock list of low inventory every Monday at 09:00"
    )
    german = declaration_text("schedule_workflow", WEEKLY, declaration, "de-DE")
    assert german.action == (
        "Ihnen einen Verkaufsbericht und eine Nachbestellliste für knappe Artikel jeden Montag um 09:00 per SMS "
        "schicken, erstellt aus Ihren synchronisierten Shop-Daten, bis Sie mir sagen, dass ich aufhören soll"
    )
    assert german.duration == "bis auf Widerruf"
    daily = {"schedule": "every day at 07:30", "tasks": ["restock_low_inventory"]}
    assert "eine Nachbestellliste für knappe Artikel täglich um 07:30" in (
        declaration_text("schedule_workflow", daily, schedule_declaration(daily), "de-DE").action
    )


def _woo() -> tuple[str, dict[str, Any], ConsentDeclaration]:
    [(_, intent, params, declaration)] = [d for d in _declarations() if d[0] == "woocommerce.setup"]
    return intent, params, declaration


def _without(locale: str, key: str) -> Any:
    real = ct.message

    def message(loc: str | None, k: str) -> str | None:
        return None if (k == key and ct.available(loc or "en-US") == locale) else real(loc, k)

    return mock.patch.object(ct, "message", message)


@pytest.mark.parametrize(
    "key",
    [
        "consent.setup_integration.woocommerce.action",
        "consent.setup_integration.woocommerce.permissions.1",
        "consent.setup_integration.woocommerce.data_access.2",
        "consent.duration.until_you_revoke_it",
    ],
)
def test_a_missing_german_entry_shows_the_whole_declaration_in_english(key: str) -> None:
    intent, params, declaration = _woo()
    assert declaration_text(intent, params, declaration, "de-DE").action.startswith("Ihren WooCommerce-Shop")
    with _without("de-DE", key):
        assert declaration_text(intent, params, declaration, "de-DE") == ConsentText.of(declaration)


def test_mismatched_counts_or_changed_english_show_the_stored_english() -> None:
    intent, params, declaration = _woo()
    own = ConsentText.of(declaration)
    fewer = declaration.model_copy(update={"permissions": declaration.permissions[:1]})
    assert declaration_text(intent, params, fewer, "de-DE") == ConsentText.of(fewer)
    more = declaration.model_copy(update={"data_access": (*declaration.data_access, "customers")})
    assert declaration_text(intent, params, more, "de-DE") == ConsentText.of(more)
    reworded = declaration.model_copy(update={"action": declaration.action + " and more"})
    assert declaration_text(intent, params, reworded, "de-DE") == ConsentText.of(reworded)
    other_duration = declaration.model_copy(update={"duration": "90 days"})
    assert declaration_text(intent, params, other_duration, "de-DE") == ConsentText.of(other_duration)
    # a catalog listing more lines than the recipe declared is a mismatch too
    real = ct.message
    extra = "consent.setup_integration.woocommerce.permissions.2"
    with mock.patch.object(ct, "message", lambda loc, k: "zusätzlich" if k == extra else real(loc, k)):
        assert declaration_text(intent, params, declaration, "de-DE") == own


def test_unknown_intents_and_services_show_the_stored_english() -> None:
    _, _, declaration = _woo()
    for intent, params in [
        ("setup_integration", {"service": "shopify"}),
        ("no_such_intent", {}),
        ("setup_integration", {}),
    ]:
        assert declaration_text(intent, params, declaration, "de-DE") == ConsentText.of(declaration)


def test_the_english_consent_page_param_labels_are_the_labels_the_page_always_derived() -> None:
    """en-US pages stay byte-identical: a param's catalog label in en-US is the generic ``Store url`` form."""
    from gateway.consent.pages import param_label

    labels = {k: v for k, v in _catalog("en-US").items() if k.startswith("consent.page.param.")}
    assert labels
    for key, label in labels.items():
        assert label == param_label(key.rsplit(".", 1)[1]), key
