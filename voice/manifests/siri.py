"""Machine-readable description of the Siri Shortcut (``skill_manifests/siri/shortcut.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import intents
from voice import slots as vslots

SIRI_ENDPOINT_PATH = "/v1/channels/siri"


def shortcut_json(public_url: str, registry: Mapping[str, intents.IntentSpec]) -> dict[str, Any]:
    """Endpoint, request shapes, response fields, the action list, and every intent with its param values."""
    intent_table: dict[str, Any] = {}
    for name, spec in registry.items():
        params: dict[str, Any] = {}
        for param in vslots.params_of(name):
            stype = vslots.slot_type_for(name, param)
            params[param] = {
                "values": None
                if stype.free_form
                else [v.replace("_", " ") if stype.name == "SCHEDULE" else v for v in stype.values],
                "list": stype.multiple,
                "required": param in spec.required,
            }
        intent_table[name] = {"summary": spec.summary, "example": spec.utterances[0], "params": params}
    return {
        "name": "OmniOps",
        "endpoint": public_url.rstrip("/") + SIRI_ENDPOINT_PATH,
        "method": "POST",
        "headers": {"Authorization": "Bearer <your OmniOps Shortcut token>", "Content-Type": "application/json"},
        "request_bodies": [
            {"text": "<Dictated Text>", "locale": "<optional, e.g. en-US>"},
            {"intent": "<intent name>", "params": {"<param>": "<value>"}, "confirm": False},
        ],
        "response_fields": {
            "speech": "short text for Siri to speak",
            "text": "full reply text",
            "status": "action_started | action_done | query_answer | question | consent_required | error | …",
            "run_id": "id of the started run, when one started",
            "status_url": "GET it (same token) to follow the run",
            "consent_hint": "set when approval is needed: the owner got a link by SMS",
            "link": "a link for the owner's own phone (never spoken)",
            "end": "false when OmniOps asked a question",
        },
        "actions": [
            {"action": "Dictate Text", "stop_listening": "After Pause"},
            {
                "action": "Get Contents of URL",
                "method": "POST",
                "request_body": "JSON",
                "fields": {"text": "Dictated Text"},
            },
            {"action": "Get Dictionary Value", "key": "speech"},
            {"action": "Speak Text", "input": "Dictionary Value"},
            {"action": "Show Notification", "body": "Dictionary Value"},
        ],
        "intents": intent_table,
    }
