"""Alexa request envelope → ``Command`` (or a channel-level ``Reply`` / raw response when no command is needed).

Request types: ``LaunchRequest`` (welcome), ``IntentRequest`` (ours and the built-ins), ``SessionEndedRequest``
and ``CanFulfillIntentRequest`` (answered here), ``System.ExceptionEncountered`` and
``Messaging.MessageReceived`` (empty response), skill events (``AlexaSkillEvent.*``, see :func:`skill_event`).
Built-ins: Help → ``help``, Yes → ``confirm``, No → ``deny``, Fallback → ``unknown``; Stop and Cancel end the
conversation with a goodbye (they never cancel a job: "cancel the setup" is our ``CancelJobIntent``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import intents
from core.commands import (
    Channel,
    Command,
    ConfirmationStatus,
    Principal,
    Reply,
    ReplyRoute,
    ResponseType,
)
from voice import slots as vslots
from voice.alexa.render import can_fulfill_response, empty_response
from voice.i18n import translate

#: Request types answered with an empty response (no speech allowed or needed).
SILENT_REQUESTS = frozenset({"SessionEndedRequest", "System.ExceptionEncountered", "Messaging.MessageReceived"})
GOODBYE_INTENTS = frozenset({"AMAZON.StopIntent", "AMAZON.CancelIntent"})
WELCOME_INTENTS = frozenset({"AMAZON.NavigateHomeIntent"})
ANONYMOUS_OK = frozenset({"help"})  # answered even before account linking
_CONFIRMATION = {
    "CONFIRMED": ConfirmationStatus.CONFIRMED,
    "DENIED": ConfirmationStatus.DENIED,
}


@dataclass(frozen=True)
class AlexaContext:
    """The facts of one request envelope that the adapter needs (no secrets in ``repr``)."""

    request_type: str
    request_id: str
    locale: str
    user_id: str | None
    access_token: str | None = field(repr=False)
    api_endpoint: str | None
    api_access_token: str | None = field(repr=False)
    session_id: str | None
    session_attributes: dict[str, Any]
    intent: dict[str, Any] | None
    dialog_state: str | None


@dataclass(frozen=True)
class SkillEvent:
    """An ``AlexaSkillEvent.*`` request: enabled/disabled, permission accepted/changed, account linked."""

    type: str
    user_id: str | None
    accepted_scopes: tuple[str, ...]
    body: dict[str, Any]


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _bounded(value: Any, limit: int) -> str | None:
    """A string id within the `Command` limits, else None (an odd id must not turn into a 500)."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _locale(raw: Any) -> str:
    if isinstance(raw, str) and len(raw) == 5 and raw[2] == "-":
        return f"{raw[:2].lower()}-{raw[3:].upper()}"
    return "en-US"


def context_of(envelope: Mapping[str, Any]) -> AlexaContext:
    """Extract the request facts from a verified envelope."""
    request = envelope.get("request") or {}
    system = _dig(envelope, "context", "System") or {}
    user_id = _dig(system, "user", "userId") or _dig(envelope, "session", "user", "userId")
    token = _dig(system, "user", "accessToken") or _dig(envelope, "session", "user", "accessToken")
    intent = request.get("intent")
    return AlexaContext(
        request_type=str(request.get("type", "")),
        request_id=str(request.get("requestId") or "unknown"),
        locale=_locale(request.get("locale")),
        user_id=_bounded(user_id, 512),
        access_token=token if isinstance(token, str) and token else None,
        api_endpoint=system.get("apiEndpoint") if isinstance(system.get("apiEndpoint"), str) else None,
        api_access_token=system.get("apiAccessToken") if isinstance(system.get("apiAccessToken"), str) else None,
        session_id=_bounded(_dig(envelope, "session", "sessionId"), 256),
        session_attributes=dict(_dig(envelope, "session", "attributes") or {}),
        intent=dict(intent) if isinstance(intent, Mapping) else None,
        dialog_state=request.get("dialogState"),
    )


def skill_event(envelope: Mapping[str, Any]) -> SkillEvent | None:
    """The skill event carried by ``envelope``, or ``None`` for other request types."""
    request = envelope.get("request") or {}
    kind = str(request.get("type", ""))
    if not kind.startswith("AlexaSkillEvent."):
        return None
    body = request.get("body") if isinstance(request.get("body"), Mapping) else {}
    accepted = tuple(
        str(p.get("scope")) for p in (body or {}).get("acceptedPermissions") or () if isinstance(p, Mapping)
    )
    user = _dig(envelope, "context", "System", "user", "userId")
    return SkillEvent(
        type=kind, user_id=user if isinstance(user, str) else None, accepted_scopes=accepted, body=dict(body or {})
    )


def _resolved_id(holder: Mapping[str, Any]) -> str | None:
    for authority in _dig(holder, "resolutions", "resolutionsPerAuthority") or ():
        if _dig(authority, "status", "code") == "ER_SUCCESS_MATCH":
            values = authority.get("values") or ()
            if values:
                value_id = _dig(values[0], "value", "id")
                return str(value_id) if value_id is not None else None
    return None


def slot_params(name: str, slots: Mapping[str, Any] | None) -> dict[str, Any]:
    """Alexa slots → validated registry params for intent ``name`` (ER_SUCCESS_MATCH ids win over words)."""
    raw: dict[str, Any] = {}
    wanted = vslots.params_of(name)
    for slot_name, slot in (slots or {}).items():
        if slot_name not in wanted or not isinstance(slot, Mapping):
            continue
        stype = vslots.slot_type_for(name, slot_name)
        slot_value = slot.get("slotValue") if isinstance(slot.get("slotValue"), Mapping) else None
        if slot_value is not None and slot_value.get("type") == "List":
            items = [v for v in slot_value.get("values") or () if isinstance(v, Mapping)]
        elif slot_value is not None:
            items = [slot_value]
        else:
            items = [slot]
        values = [
            vslots.param_value(name, slot_name, value_id=_resolved_id(item), words=item.get("value")) for item in items
        ]
        values = [v for v in values if v not in (None, "")]
        if not values:
            continue
        raw[slot_name] = tuple(values) if stype.multiple else values[0]
    return vslots.validated_params(name, raw)


def channel_reply(kind: str, locale: str, *, end: bool = True) -> Reply:
    """A reply the adapter answers itself (welcome, goodbye, link account)."""
    response_type = {
        "welcome": ResponseType.QUESTION,
        "goodbye": ResponseType.GOODBYE,
        "link_account": ResponseType.LINK_ACCOUNT,
    }[kind]
    text = translate(f"alexa.{kind}", locale)
    reprompt = translate("alexa.welcome_reprompt", locale) if not end else None
    return Reply(text=text, response_type=response_type, end_conversation=end, reprompt=reprompt, locale=locale)


def _can_fulfill(ctx: AlexaContext) -> dict[str, Any]:
    alexa_name = str((ctx.intent or {}).get("name", ""))
    name = vslots.registry_intent_for_alexa(alexa_name)
    if name is None or name in ("unknown",):
        return can_fulfill_response("NO", {})
    slots = (ctx.intent or {}).get("slots") or {}
    understood = slot_params(name, slots)
    verdicts = {}
    for slot_name, slot in slots.items():
        if not isinstance(slot, Mapping) or slot.get("value") is None:
            continue
        ok = slot_name in understood
        verdicts[slot_name] = {"canUnderstand": "YES" if ok else "NO", "canFulfill": "YES" if ok else "NO"}
    overall = "YES" if all(v["canUnderstand"] == "YES" for v in verdicts.values()) else "MAYBE"
    return can_fulfill_response(overall, verdicts)


def parse(
    envelope: Mapping[str, Any], *, principal: Principal | None, now: datetime
) -> Command | Reply | dict[str, Any]:
    """Turn a verified envelope into a ``Command``, a channel-level ``Reply`` or a finished response dict.

    ``principal`` comes from the account-linking resolver; ``None`` or one without an owner means the
    user has not linked an account, which every intent except help needs.
    """
    ctx = context_of(envelope)
    kind = ctx.request_type
    if kind in SILENT_REQUESTS or kind.startswith("AlexaSkillEvent."):
        return empty_response()
    if kind == "CanFulfillIntentRequest":
        return _can_fulfill(ctx)
    linked = principal is not None and principal.owner_id is not None
    if kind == "LaunchRequest":
        return channel_reply("welcome", ctx.locale, end=False) if linked else channel_reply("link_account", ctx.locale)
    if kind != "IntentRequest" or ctx.intent is None:
        return Reply(
            text=translate("alexa.unsupported", ctx.locale),
            response_type=ResponseType.ERROR,
            error_code="unsupported_request",
            locale=ctx.locale,
        )
    alexa_name = str(ctx.intent.get("name", ""))
    if alexa_name in GOODBYE_INTENTS:
        return channel_reply("goodbye", ctx.locale)
    if alexa_name in WELCOME_INTENTS:
        return channel_reply("welcome", ctx.locale, end=False)
    name = vslots.registry_intent_for_alexa(alexa_name) or "unknown"
    if not linked and name not in ANONYMOUS_OK:
        return channel_reply("link_account", ctx.locale)
    who = principal or Principal()
    if who.external_user_id is None and ctx.user_id:
        who = who.model_copy(update={"external_user_id": ctx.user_id})
    return Command(
        channel=Channel.ALEXA,
        principal=who,
        intent=name,
        params=slot_params(name, ctx.intent.get("slots")) if name in intents.INTENTS else {},
        locale=ctx.locale,
        reply_route=ReplyRoute(channel=Channel.ALEXA, to=ctx.user_id),
        request_id=ctx.request_id[:128],
        received_at=now,
        session_id=ctx.session_id,
        confirmation=_CONFIRMATION.get(str(ctx.intent.get("confirmationStatus")), ConfirmationStatus.NONE),
    )
