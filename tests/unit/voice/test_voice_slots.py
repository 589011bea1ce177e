"""Slot types per intent: ``revoke_access.service`` is a ``REVOKE_TARGET``, other ``service`` params a ``SERVICE``."""

from __future__ import annotations

import pytest

from core import intents
from voice import slots as vslots
from voice.google_assistant import intent_params
from voice.manifests.common import synonyms_for


def test_revoke_access_service_uses_the_revoke_target_type() -> None:
    stype = vslots.slot_type_for("revoke_access", "service")
    assert stype.name == "REVOKE_TARGET"
    assert set(stype.values) == set(intents.REVOKE_TARGET_SYNONYMS)
    assert {"schedules", "sales_report", "restock_low_inventory", "stripe"} <= set(stype.values)


@pytest.mark.parametrize("intent", ["setup_integration", "fix_integration"])
def test_other_service_params_keep_the_service_type(intent: str) -> None:
    stype = vslots.slot_type_for(intent, "service")
    assert stype.name == "SERVICE"
    assert set(stype.values) == {s.value for s in intents.Service}


def test_the_override_is_per_intent_and_param_only() -> None:
    assert dict(vslots.INTENT_PARAM_SLOT_TYPES) == {("revoke_access", "service"): "REVOKE_TARGET"}
    assert vslots.PARAM_SLOT_TYPES["service"] == "SERVICE"
    assert vslots.slot_type_for("schedule_workflow", "tasks").name == "TASK"


@pytest.mark.parametrize(
    ("words", "value"),
    [("standing consents", "schedules"), ("sales report", "sales_report"), ("low stock", "restock_low_inventory")],
)
def test_param_value_reads_revoke_targets_from_words(words: str, value: str) -> None:
    assert vslots.param_value("revoke_access", "service", value_id=None, words=words) == value
    assert vslots.param_value("setup_integration", "service", value_id=None, words=words) == words  # not a service


def test_german_revoke_targets_keep_service_and_task_catalog_words() -> None:
    words = synonyms_for(vslots.slot_type_for("revoke_access", "service"), "de-DE")
    assert "zahlungen" in words["stripe"]  # SERVICE catalog
    assert "verkaufsbericht" in words["sales_report"]  # TASK catalog
    assert "zeitpläne" in words["schedules"]  # REVOKE_TARGET catalog
    assert "schedules" not in synonyms_for(vslots.slot_type_for("setup_integration", "service"), "de-DE")


def test_google_params_for_revoke_access_resolve_to_scheduled_work() -> None:
    params = {"service": {"original": "my automations", "resolved": "schedules"}}
    assert intent_params("revoke_access", params) == {"service": "schedules"}
    params = {"service": {"original": "the weekly report", "resolved": "sales_report"}}
    assert intent_params("revoke_access", params) == {"service": "sales_report"}
    assert intent_params("setup_integration", {"service": {"original": "schedules", "resolved": "schedules"}}) == {}
