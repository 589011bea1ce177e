"""Plan gating for every intent in the registry (core.entitlements is pure: no fakes needed)."""

from __future__ import annotations

import pytest

from core import intents
from core.entitlements import check_entitlement, guide_url, refusal
from core.ports import Addon, Owner, Plan

# Written out by hand from the roadmap, independently of the code: who may run what.
EXPECTED: dict[str, dict[str, bool]] = {
    #                        manual  ai_assisted  ai_assisted+custom_workflow
    "setup_integration": {"manual": False, "ai": True, "ai+cw": True},
    "setup_store": {"manual": False, "ai": True, "ai+cw": True},
    "migrate_store": {"manual": False, "ai": True, "ai+cw": True},
    "schedule_workflow": {"manual": False, "ai": False, "ai+cw": True},
    "fix_integration": {"manual": False, "ai": True, "ai+cw": True},
    "revoke_access": {"manual": True, "ai": True, "ai+cw": True},  # removing our access is never paywalled
    "store_report": {"manual": True, "ai": True, "ai+cw": True},
    "job_status": {"manual": True, "ai": True, "ai+cw": True},
    "cancel_job": {"manual": True, "ai": True, "ai+cw": True},
    "list_integrations": {"manual": True, "ai": True, "ai+cw": True},
    "export_data": {"manual": True, "ai": True, "ai+cw": True},
    "delete_data": {"manual": True, "ai": True, "ai+cw": True},
    "help": {"manual": True, "ai": True, "ai+cw": True},
    "confirm": {"manual": True, "ai": True, "ai+cw": True},
    "deny": {"manual": True, "ai": True, "ai+cw": True},
    "unknown": {"manual": True, "ai": True, "ai+cw": True},
}

OWNERS = {
    "manual": Owner(id="own_m", name="M", plan=Plan.MANUAL),
    "manual+cw": Owner(id="own_mc", name="MC", plan=Plan.MANUAL, addons=(Addon.CUSTOM_WORKFLOW,)),
    "ai": Owner(id="own_a", name="A", plan=Plan.AI_ASSISTED),
    "ai+cw": Owner(id="own_ac", name="AC", plan=Plan.AI_ASSISTED, addons=(Addon.CUSTOM_WORKFLOW,)),
}


def test_expectations_cover_the_whole_registry() -> None:
    assert set(EXPECTED) == set(intents.INTENT_NAMES)


@pytest.mark.parametrize("intent", intents.INTENT_NAMES)
@pytest.mark.parametrize("who", ["manual", "ai", "ai+cw"])
def test_plan_gating_for_each_intent(intent: str, who: str) -> None:
    decision = check_entitlement(OWNERS[who], intent, {})
    assert decision.allowed is EXPECTED[intent][who]
    if decision.allowed:
        assert decision.reply_text is None
    else:
        assert decision.reply_text and decision.guide_url and decision.guide_url in decision.reply_text


@pytest.mark.parametrize("intent", [n for n, s in intents.INTENTS.items() if s.autonomous and n != "revoke_access"])
def test_manual_plan_gets_the_guide_not_a_run(intent: str) -> None:
    decision = check_entitlement(OWNERS["manual+cw"], intent, {})  # an add-on does not lift the plan
    assert not decision.allowed and decision.reason == "plan" and decision.required_plan is Plan.AI_ASSISTED
    assert "AI-Assisted plan" in (decision.reply_text or "")


def test_friendly_reply_names_the_service_guide() -> None:
    decision = check_entitlement(OWNERS["manual"], "setup_integration", {"service": "stripe"})
    assert decision.reply_text == (
        "Autonomous setup is part of the AI-Assisted plan — here is the guide to do it yourself: "
        "https://omniops.dev/guides/setup_integration/stripe"
    )


def test_schedule_workflow_needs_the_addon() -> None:
    decision = check_entitlement(OWNERS["ai"], "schedule_workflow", {"schedule": "every monday"})
    assert not decision.allowed and decision.reason == "addon" and decision.required_addon is Addon.CUSTOM_WORKFLOW
    assert "Custom Workflow add-on" in (decision.reply_text or "")


def test_guide_urls() -> None:
    assert guide_url("migrate_store", {"source": "shopify", "target": "woocommerce"}) == (
        "https://omniops.dev/guides/migrate_store/shopify-to-woocommerce"
    )
    assert (
        guide_url("setup_store", {"platform": "shopify"}, base="https://x.test/g/")
        == "https://x.test/g/setup_store/shopify"
    )


def test_unknown_intent_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        check_entitlement(OWNERS["ai"], "make_coffee", {})


def test_refusal_adapter_for_the_handlers() -> None:
    from core.handlers import EntitlementCheck

    check: EntitlementCheck = refusal
    assert check(OWNERS["ai"], "setup_integration", {"service": "stripe"}) is None
    text, guide = check(OWNERS["manual"], "setup_integration", {"service": "stripe"}) or ("", "")
    assert guide == "https://omniops.dev/guides/setup_integration/stripe" and guide in text
