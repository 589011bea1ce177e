"""The plan catalogue (names, prices, what is included) and add-on parsing; the rules live in
`core.entitlements` so the command handlers can call them without I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.entitlements import EntitlementDecision, check_entitlement, guide_url
from core.errors import InputError
from core.ports import Addon, Plan

__all__ = [
    "ADDONS",
    "PLANS",
    "AddonInfo",
    "EntitlementDecision",
    "PlanInfo",
    "check_entitlement",
    "guide_url",
    "parse_addons",
]


@dataclass(frozen=True)
class PlanInfo:
    plan: Plan
    title: str
    monthly_usd: int
    includes: tuple[str, ...]


@dataclass(frozen=True)
class AddonInfo:
    addon: Addon
    title: str
    description: str


PLANS: dict[Plan, PlanInfo] = {
    Plan.MANUAL: PlanInfo(
        Plan.MANUAL,
        "Manual",
        99,
        ("Reports, status and help by voice, chat and SMS", "Step-by-step guides for every setup"),
    ),
    Plan.AI_ASSISTED: PlanInfo(
        Plan.AI_ASSISTED,
        "AI-Assisted",
        299,
        ("Everything in Manual", "Autonomous setups and migrations", "Voice control", "Self-healing integrations"),
    ),
}

ADDONS: dict[Addon, AddonInfo] = {
    Addon.CUSTOM_WORKFLOW: AddonInfo(Addon.CUSTOM_WORKFLOW, "Custom Workflow", "Scheduled workflows (per workflow)"),
    Addon.OPTIMIZATION: AddonInfo(Addon.OPTIMIZATION, "Optimization", "Analytics automation"),
}


def parse_addons(values: Iterable[str]) -> tuple[Addon, ...]:
    """Validate add-on names; de-duplicated, in declaration order."""
    wanted = {v.strip() for v in values if v.strip()}
    unknown = wanted - {a.value for a in Addon}
    if unknown:
        raise InputError(
            f"Unknown add-on(s): {', '.join(sorted(unknown))}. Known: {', '.join(a.value for a in Addon)}."
        )
    return tuple(a for a in Addon if a.value in wanted)
