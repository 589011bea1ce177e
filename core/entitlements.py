"""Plan entitlements: pure functions deciding whether an owner's plan includes what they asked for.

Plans (roadmap): ``manual`` ($99) gets every report, status, help and list, and a step-by-step guide instead of
any autonomous run; ``ai_assisted`` ($299) gets autonomous setups, voice control, self-healing and migrations.
Add-ons: ``custom_workflow`` (scheduled workflows) and ``optimization`` (analytics automation; no intent needs
it yet). Handlers call :func:`check_entitlement` before consent, and answer a refusal with its friendly text —
never silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from core import intents
from core.ports import Addon, Owner, Plan

#: Where the step-by-step guides live; a guide URL is ``{base}/{intent}[/{service}]``.
DEFAULT_GUIDE_BASE = "https://omniops.dev/guides"

#: Autonomous intents every plan keeps: taking our access away must never sit behind a paywall.
ALWAYS_ALLOWED_AUTONOMOUS: frozenset[str] = frozenset({"revoke_access"})

#: Intents that need an add-on on top of the AI-Assisted plan.
ADDON_REQUIRED: Mapping[str, Addon] = {"schedule_workflow": Addon.CUSTOM_WORKFLOW}

_WHAT: Mapping[str, str] = {
    "setup_integration": "Autonomous setup",
    "setup_store": "Autonomous store setup",
    "migrate_store": "Autonomous migration",
    "schedule_workflow": "Scheduled workflows",
    "fix_integration": "Self-healing repair",
}
_ADDON_NAMES: Mapping[Addon, str] = {
    Addon.CUSTOM_WORKFLOW: "Custom Workflow",
    Addon.OPTIMIZATION: "Optimization",
}


class EntitlementDecision(BaseModel):
    """Allowed, or why not: a reply the owner can read aloud or on screen, and a guide to do it by hand."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    reason: str | None = None  # "plan" | "addon"
    reply_text: str | None = None
    guide_url: str | None = None
    required_plan: Plan | None = None
    required_addon: Addon | None = None


ALLOWED = EntitlementDecision(allowed=True)


def guide_url(intent: str, params: Mapping[str, Any], *, base: str = DEFAULT_GUIDE_BASE) -> str:
    """The manual guide for ``intent`` (and its service or platform, when the params name one)."""
    url = f"{base.rstrip('/')}/{intent}"
    topic = params.get("service") or params.get("platform")
    if intent == "migrate_store" and params.get("source") and params.get("target"):
        topic = f"{params['source']}-to-{params['target']}"
    if isinstance(topic, str) and topic:
        url += f"/{topic}"
    return url


def check_entitlement(
    owner: Owner, intent: str, params: Mapping[str, Any], *, guide_base: str = DEFAULT_GUIDE_BASE
) -> EntitlementDecision:
    """Decide whether ``owner``'s plan includes ``intent``; a refusal carries a friendly reply and a guide URL.

    Non-autonomous intents (reports, status, cancel, list, help, export/delete data, confirm/deny) are
    included in every plan. Raises ``KeyError`` for an intent the registry does not know.
    """
    spec = intents.get(intent)
    if not spec.autonomous or intent in ALWAYS_ALLOWED_AUTONOMOUS:
        return ALLOWED
    what = _WHAT.get(intent, "This")
    url = guide_url(intent, params, base=guide_base)
    if owner.plan is not Plan.AI_ASSISTED:
        return EntitlementDecision(
            allowed=False,
            reason="plan",
            reply_text=f"{what} is part of the AI-Assisted plan — here is the guide to do it yourself: {url}",
            guide_url=url,
            required_plan=Plan.AI_ASSISTED,
            required_addon=ADDON_REQUIRED.get(intent),
        )
    addon = ADDON_REQUIRED.get(intent)
    if addon is not None and addon not in owner.addons:
        return EntitlementDecision(
            allowed=False,
            reason="addon",
            reply_text=(
                f"{what} need the {_ADDON_NAMES[addon]} add-on — you can add it from your account, "
                f"or here is the guide to do it yourself: {url}"
            ),
            guide_url=url,
            required_addon=addon,
        )
    return ALLOWED


def refusal(owner: Owner, intent: str, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """Adapter for ``core.handlers.Services.entitlement``: None when allowed, else (reply text, guide URL)."""
    decision = check_entitlement(owner, intent, params)
    if decision.allowed:
        return None
    return decision.reply_text or "", decision.guide_url or guide_url(intent, params)
