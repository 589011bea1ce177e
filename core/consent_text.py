"""A consent declaration in the owner's language, for display only.

The declaration a consent stores is the recipe's English text: it is part of what ``params_hash`` covers, so it
is never changed. What the owner reads and hears (the question, the texted link, the consent page, the widget
card) is this module's rendering of it in the consent's locale, from catalog keys derived from the intent and
the ``service`` param::

    consent.<intent>[.<service>].action            (``{what}`` for a schedule: core.schedules.describe)
    consent.<intent>[.<service>].permissions.<n>   n = 0, 1, …
    consent.<intent>[.<service>].data_access.<n>
    consent.duration.<slug>                        slug of the English duration: "until revoked" → until_revoked

A translation is shown only when it is complete, has exactly as many permissions and data-access lines as the
stored declaration, and the en-US entries of the same keys render to the stored declaration byte for byte (so
a recipe whose English changed, or a declaration these keys were not written for, is shown in English). Any
doubt shows the stored English, whole: never a partial or mismatched translation. en-US (and any locale with no
catalog of its own) always gets the stored text itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.i18n import DEFAULT_LOCALE, available, message
from core.intents import WORKFLOW_TARGETS, Workflows
from core.ports import ConsentDeclaration, ConsentRecord
from core.schedules import describe, schedule_of


@dataclass(frozen=True)
class ConsentText:
    """The owner-facing words of a declaration."""

    action: str
    permissions: tuple[str, ...]
    data_access: tuple[str, ...]
    duration: str

    @classmethod
    def of(cls, declaration: ConsentDeclaration) -> ConsentText:
        """The stored declaration's own (English) text, unchanged."""
        return cls(
            action=declaration.action,
            permissions=tuple(declaration.permissions),
            data_access=tuple(declaration.data_access),
            duration=declaration.duration,
        )


class _Missing(Exception):
    """A catalog entry the rendering needs is absent."""


def consent_text(record: ConsentRecord) -> ConsentText:
    """``record``'s declaration in ``record.locale``."""
    return declaration_text(record.intent, record.params, record.declaration, record.locale)


def declaration_text(
    intent: str, params: Mapping[str, Any], declaration: ConsentDeclaration, locale: str | None
) -> ConsentText:
    """The declaration a recipe made for ``intent`` and ``params``, in ``locale`` (see the module docstring)."""
    own = ConsentText.of(declaration)
    served = available(locale or DEFAULT_LOCALE)
    if served == DEFAULT_LOCALE:
        return own
    base = key_base(intent, params)
    if base is None:
        return own
    try:
        english = _render(DEFAULT_LOCALE, base, declaration, params)
        translated = _render(served, base, declaration, params)
    except (_Missing, KeyError, IndexError, ValueError):
        return own
    return translated if english == own else own


def key_base(intent: str, params: Mapping[str, Any]) -> str | None:
    """``consent.<intent>.<service>`` when the catalog has it, else ``consent.<intent>``, else None.

    Revoking scheduled work by task name (``sales_report``) is the same recipe as ``schedules``
    (``workflow.revoke`` also serves the task names).
    """
    service = params.get("service")
    if intent == "revoke_access" and service in WORKFLOW_TARGETS:
        service = Workflows.ALL.value
    bases = [f"consent.{intent}.{service}"] if isinstance(service, str) and service else []
    bases.append(f"consent.{intent}")
    for base in bases:
        if message(DEFAULT_LOCALE, f"{base}.action") is not None:
            return base
    return None


def duration_key(duration: str) -> str:
    """``one-time, cannot be undone`` → ``consent.duration.one_time_cannot_be_undone``."""
    return "consent.duration." + re.sub(r"[^a-z0-9]+", "_", duration.lower()).strip("_")


def _exact(locale: str, key: str) -> str:
    template = message(locale, key)
    if template is None:
        raise _Missing(key)
    return template


def _lines(locale: str, key: str, count: int) -> tuple[str, ...]:
    if message(locale, f"{key}.{count}") is not None:  # the catalog lists more lines than were declared
        raise _Missing(f"{key}.{count}")
    return tuple(_exact(locale, f"{key}.{n}") for n in range(count))


def _render(locale: str, base: str, declaration: ConsentDeclaration, params: Mapping[str, Any]) -> ConsentText:
    action = _exact(locale, f"{base}.action")
    if "{" in action:
        action = action.format(**_action_values(locale, params))
    return ConsentText(
        action=action,
        permissions=_lines(locale, f"{base}.permissions", len(declaration.permissions)),
        data_access=_lines(locale, f"{base}.data_access", len(declaration.data_access)),
        duration=_exact(locale, duration_key(declaration.duration)),
    )


def _action_values(locale: str, params: Mapping[str, Any]) -> dict[str, str]:
    """``{what}``: the schedule and its tasks, as ``executor.recipes.workflows.schedule_declaration`` names them."""
    schedule, tasks = schedule_of(params)
    return {"what": describe(schedule, tasks, locale=locale)}
