"""``Reply`` → Alexa response JSON (valid against the ask-sdk-model ``ResponseEnvelope``).

Speech is always SSML with the text escaped (``& < > " '``); questions keep the session open with a
reprompt; ``reply.elicit_param`` becomes ``Dialog.ElicitSlot`` and ``reply.confirm_intent`` becomes
``Dialog.ConfirmIntent`` (both carry the request's intent as ``updatedIntent``); cards are Simple, and
``LINK_ACCOUNT`` replies carry the ``LinkAccount`` card.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from core import intents
from core.commands import Reply, ResponseType
from voice import slots as vslots

VERSION = "1.0"
_SSML_ENTITIES = {'"': "&quot;", "'": "&apos;"}
MAX_SPEECH_CHARS = 7900  # Alexa's limit is 8000 characters of SSML


def ssml(text: str) -> str:
    """Wrap plain ``text`` in ``<speak>``, escaping every character SSML treats specially."""
    return "<speak>" + escape(text[:MAX_SPEECH_CHARS], _SSML_ENTITIES) + "</speak>"


def _speech(text: str) -> dict[str, Any]:
    return {"type": "SSML", "ssml": ssml(text)}


def empty_response(session_attributes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body for requests that take no speech (SessionEndedRequest, skill events)."""
    body: dict[str, Any] = {"version": VERSION, "response": {}}
    if session_attributes:
        body["sessionAttributes"] = dict(session_attributes)
    return body


def can_fulfill_response(can_fulfill: str, slots: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """The CanFulfillIntentRequest answer: ``YES``/``NO``/``MAYBE`` plus per-slot verdicts."""
    return {
        "version": VERSION,
        "response": {"canFulfillIntent": {"canFulfill": can_fulfill, "slots": {k: dict(v) for k, v in slots.items()}}},
    }


def _updated_intent(reply: Reply, intent: Mapping[str, Any] | None) -> dict[str, Any]:
    name = vslots.alexa_intent_name(reply.intent) if reply.intent else None
    if intent is not None and (name is None or intent.get("name") == name):
        slots = {
            k: {key: v[key] for key in ("name", "value", "confirmationStatus") if key in v}
            for k, v in (intent.get("slots") or {}).items()
            if isinstance(v, Mapping)
        }
        status = intent.get("confirmationStatus", "NONE")
        return {"name": str(intent.get("name")), "confirmationStatus": status, "slots": slots}
    if name is None:
        raise ValueError("a dialog reply needs reply.intent or the request's intent")
    return {"name": name, "confirmationStatus": "NONE", "slots": {}}


def _is_slot_of(reply: Reply, intent: Mapping[str, Any] | None) -> bool:
    """Alexa rejects ``Dialog.ElicitSlot`` for a slot its intent does not declare: only elicit real slots."""
    if reply.intent:
        return reply.elicit_param in vslots.params_of(reply.intent) if reply.intent in intents.INTENTS else False
    name = vslots.registry_intent_for_alexa(str((intent or {}).get("name", "")))
    return name is not None and reply.elicit_param in vslots.params_of(name)


def render(
    reply: Reply,
    *,
    intent: Mapping[str, Any] | None = None,
    session_attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Render ``reply`` as an Alexa response envelope.

    ``intent`` is the request's ``request.intent`` object, used as ``updatedIntent`` for dialog directives.
    """
    response: dict[str, Any] = {"outputSpeech": _speech(reply.spoken)}
    directives: list[dict[str, Any]] = []
    if reply.response_type is ResponseType.LINK_ACCOUNT:
        response["card"] = {"type": "LinkAccount"}
    elif reply.card is not None:
        response["card"] = {"type": "Simple", "title": reply.card.title, "content": reply.card.text}
    if reply.elicit_param and _is_slot_of(reply, intent):
        directives.append(
            {
                "type": "Dialog.ElicitSlot",
                "slotToElicit": reply.elicit_param,
                "updatedIntent": _updated_intent(reply, intent),
            }
        )
    elif reply.confirm_intent and (reply.intent or intent):
        directives.append({"type": "Dialog.ConfirmIntent", "updatedIntent": _updated_intent(reply, intent)})
    keep_open = bool(directives) or not reply.end_conversation or reply.response_type is ResponseType.QUESTION
    if keep_open:
        response["reprompt"] = {"outputSpeech": _speech(reply.reprompt or reply.spoken)}
    if directives:
        response["directives"] = directives
    response["shouldEndSession"] = not keep_open
    body: dict[str, Any] = {"version": VERSION, "response": response}
    if session_attributes:
        body["sessionAttributes"] = dict(session_attributes)
    return body
