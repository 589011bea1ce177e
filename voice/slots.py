"""Slot types and voice intent names, derived from the intent registry (``core/intents.py``).

Every voice channel shares these: the Alexa and Google models are generated from them and the adapters
map a resolved slot id back to the registry's param value with :func:`param_value`. Value ids are the
registry's enum values with spaces turned into underscores (``every monday`` → ``every_monday``).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from types import MappingProxyType
from typing import Any

from core import intents

#: Registry intents that map to platform built-ins instead of a custom voice intent.
ALEXA_BUILTINS: Mapping[str, str] = {
    "help": "AMAZON.HelpIntent",
    "confirm": "AMAZON.YesIntent",
    "deny": "AMAZON.NoIntent",
    "unknown": "AMAZON.FallbackIntent",
}


def alexa_intent_name(name: str) -> str:
    """``setup_integration`` → ``SetupIntegrationIntent`` (built-ins → ``AMAZON.*``)."""
    if name in ALEXA_BUILTINS:
        return ALEXA_BUILTINS[name]
    return "".join(part.capitalize() for part in name.split("_")) + "Intent"


def registry_intent_for_alexa(alexa_name: str) -> str | None:
    """The registry intent for an Alexa intent name, or ``None`` when it is not one of ours."""
    for name in intents.INTENTS:
        if alexa_intent_name(name) == alexa_name:
            return name
    return None


@dataclass(frozen=True)
class SlotType:
    """A voice slot type: value id → spoken synonyms (first is the canonical name)."""

    name: str
    values: Mapping[str, tuple[str, ...]]
    multiple: bool = False  # the param is a tuple (Alexa multiple-value slot, Google list param)
    free_form: bool = False  # any words (store address, run id): values are only samples
    includes: tuple[str, ...] = ()  # a union of these types: their locale catalog synonyms apply here too

    def id_for_words(self, words: str) -> str | None:
        """The value id whose synonyms include ``words`` (case-insensitive), if any."""
        text = " ".join(words.lower().split())
        for value_id, synonyms in self.values.items():
            if text == value_id.replace("_", " ") or text in (s.lower() for s in synonyms):
                return value_id
        return None


def _ids(table: Mapping[Any, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {str(_value(k)).replace(" ", "_"): tuple(v) for k, v in table.items()}


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


def _period_values() -> dict[str, tuple[str, ...]]:
    hint = typing.get_type_hints(intents.StoreReportParams)["period"]
    literal = next(a for a in typing.get_args(hint) if typing.get_origin(a) is typing.Literal)
    return {v: (v.replace("_", " "),) for v in typing.get_args(literal)}


def _schedule_values() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {"every_day": ("every day", "daily", "each day", "each morning")}
    out["every_week"] = ("every week", "weekly", "each week")
    for day in intents.WEEKDAYS:
        out[f"every_{day}"] = (f"every {day}", f"each {day}", f"{day}s")
    return out


@cache
def slot_types() -> Mapping[str, SlotType]:
    """Every slot type, keyed by type name, built from the registry's enums and synonym tables (cached)."""
    platform = {p.value: intents.SERVICE_SYNONYMS[intents.Service(p.value)] for p in intents.Platform}
    types = [
        SlotType("SERVICE", _ids(intents.SERVICE_SYNONYMS)),
        SlotType("REVOKE_TARGET", _ids(intents.REVOKE_TARGET_SYNONYMS), includes=("SERVICE", "TASK")),
        SlotType("PLATFORM", _ids(platform)),
        SlotType("MIGRATION_SYSTEM", _ids(intents.MIGRATION_SYNONYMS)),
        SlotType("REPORT", _ids(intents.REPORT_SYNONYMS)),
        SlotType("TASK", _ids(intents.TASK_SYNONYMS), multiple=True),
        SlotType("PERIOD", _period_values()),
        SlotType("SCHEDULE", _schedule_values()),
        SlotType(
            "STORE_ADDRESS",
            {"shop_example_com": ("shop.example.com",), "mystore_myshopify_com": ("mystore.myshopify.com",)},
            free_form=True,
        ),
        SlotType("RUN_ID", {"r_8f2k1": ("r 8 f 2 k 1",)}, free_form=True),
    ]
    return MappingProxyType({t.name: t for t in types})


#: Which slot type a param uses, by param name (the same name means the same kind of value everywhere,
#: except where :data:`INTENT_PARAM_SLOT_TYPES` says otherwise for one intent).
PARAM_SLOT_TYPES: Mapping[str, str] = {
    "service": "SERVICE",
    "platform": "PLATFORM",
    "source": "MIGRATION_SYSTEM",
    "target": "MIGRATION_SYSTEM",
    "report": "REPORT",
    "tasks": "TASK",
    "period": "PERIOD",
    "schedule": "SCHEDULE",
    "store_url": "STORE_ADDRESS",
    "run_id": "RUN_ID",
}

#: Per-intent exceptions to :data:`PARAM_SLOT_TYPES`: ``revoke_access.service`` also names scheduled work
#: (``schedules``, a task), while ``setup_integration``/``fix_integration`` keep ``SERVICE``.
INTENT_PARAM_SLOT_TYPES: Mapping[tuple[str, str], str] = {("revoke_access", "service"): "REVOKE_TARGET"}


def params_of(name: str) -> tuple[str, ...]:
    """The param names of registry intent ``name``, in declaration order."""
    return tuple(intents.INTENTS[name].params.model_fields)


def slot_type_for(intent: str, param: str) -> SlotType:
    """The slot type of ``param`` of ``intent``; an unknown param gets a free-form type named after it."""
    type_name = INTENT_PARAM_SLOT_TYPES.get((intent, param)) or PARAM_SLOT_TYPES.get(param)
    if type_name is None:
        return SlotType(param.upper(), {"example": ("example",)}, free_form=True)
    return slot_types()[type_name]


_SPOKEN_DOT = re.compile(r"\s+dot\s+", re.IGNORECASE)


def param_value(intent: str, param: str, *, value_id: str | None, words: str | None) -> Any:
    """Turn a slot of ``intent`` (resolved id and/or the spoken words) into the registry param value (unvalidated)."""
    stype = slot_type_for(intent, param)
    if value_id is None and words and not stype.free_form:
        value_id = stype.id_for_words(words)
    if value_id is not None and not stype.free_form:
        return value_id.replace("_", " ") if stype.name == "SCHEDULE" else value_id
    if words is None:
        return None
    if stype.name == "STORE_ADDRESS":
        return _SPOKEN_DOT.sub(".", words.strip()).replace(" ", "").lower()
    if stype.name == "RUN_ID":
        return words.replace(" ", "")
    return words


def validated_params(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``raw`` params one by one for intent ``name``, dropping values that do not validate.

    A voice slot that mis-heard a store address must not fail the request: the param is left unset so
    the bus asks for it again.
    """
    spec = intents.INTENTS[name]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value in (None, "", ()) or key not in spec.params.model_fields:
            continue
        try:
            out.update(spec.validate_params({key: value}))
        except ValueError:
            continue
    return out
