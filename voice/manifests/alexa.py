"""Alexa skill package: ``skill.json``, ``accountLinking.json`` and one interaction model per locale."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from core import intents
from voice import slots as vslots
from voice.i18n import translate
from voice.manifests.common import (
    ALEXA_LOCALES,
    SKILL_NAME,
    invocation,
    prompt,
    synonyms_for,
    utterances,
)

ALEXA_ENDPOINT_PATH = "/v1/channels/alexa"
NOTIFICATIONS_PERMISSION = "alexa::devices:all:notifications:write"
ACCOUNT_LINKING_CLIENT_ID = "omniops-alexa"
ACCOUNT_LINKING_SCOPES = ("voice",)
SKILL_EVENTS = (
    "SKILL_ENABLED",
    "SKILL_DISABLED",
    "SKILL_PERMISSION_ACCEPTED",
    "SKILL_PERMISSION_CHANGED",
    "SKILL_ACCOUNT_LINKED",
)
#: Built-ins every custom skill declares; the registry's help/confirm/deny add sample utterances to theirs.
REQUIRED_BUILTINS = (
    "AMAZON.CancelIntent",
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.NavigateHomeIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.YesIntent",
    "AMAZON.NoIntent",
)
COUNTRIES = {"en-US": "US", "en-GB": "GB", "en-CA": "CA", "en-AU": "AU", "en-IN": "IN", "de-DE": "DE"}


def skill_json(public_url: str) -> dict[str, Any]:
    """The skill manifest: endpoint, locales, notification permission and MessageAlert publication."""
    endpoint = {"uri": public_url.rstrip("/") + ALEXA_ENDPOINT_PATH, "sslCertificateType": "Trusted"}
    locales = {
        loc: {
            "name": SKILL_NAME,
            "summary": translate("manifest.summary", loc),
            "description": translate("manifest.description", loc),
            "examplePhrases": [translate(f"manifest.example_{i}", loc, invocation=invocation(loc)) for i in (1, 2, 3)],
            "keywords": translate("manifest.keywords", loc).split(", "),
        }
        for loc in ALEXA_LOCALES
    }
    return {
        "manifest": {
            "manifestVersion": "1.0",
            "publishingInformation": {
                "locales": locales,
                "isAvailableWorldwide": False,
                "distributionCountries": sorted(set(COUNTRIES.values())),
                "category": "BUSINESS_AND_FINANCE",
                "testingInstructions": "Link an OmniOps demo account, then say: tell omni ops to set up my store.",
            },
            "privacyAndCompliance": {
                "allowsPurchases": False,
                "usesPersonalInfo": True,
                "isChildDirected": False,
                "isExportCompliant": True,
                "containsAds": False,
                "locales": {
                    loc: {
                        "privacyPolicyUrl": public_url.rstrip("/") + "/privacy",
                        "termsOfUseUrl": public_url.rstrip("/") + "/terms",
                    }
                    for loc in ALEXA_LOCALES
                },
            },
            "apis": {"custom": {"endpoint": endpoint, "interfaces": []}},
            "permissions": [{"name": NOTIFICATIONS_PERMISSION}],
            "events": {
                "endpoint": {"uri": endpoint["uri"], "sslCertificateType": "Trusted"},
                "publications": [{"eventName": "AMAZON.MessageAlert.Activated"}],
                "subscriptions": [{"eventName": name} for name in SKILL_EVENTS],
            },
        }
    }


def account_linking_json(public_url: str) -> dict[str, Any]:
    """SMAPI ``update-account-linking-info`` body: auth-code grant against the gateway's OAuth server."""
    base = public_url.rstrip("/")
    return {
        "accountLinkingRequest": {
            "type": "AUTH_CODE",
            "authorizationUrl": f"{base}/oauth/authorize",
            "accessTokenUrl": f"{base}/oauth/token",
            "clientId": ACCOUNT_LINKING_CLIENT_ID,
            "accessTokenScheme": "HTTP_BASIC",
            "scopes": list(ACCOUNT_LINKING_SCOPES),
            "domains": [urlsplit(base).hostname or ""],
            "defaultTokenExpirationInSeconds": 3600,
            "skipOnEnablement": False,
        }
    }


def _slot_defs(name: str, locale: str, registry: Mapping[str, intents.IntentSpec]) -> list[dict[str, Any]]:
    defs = []
    for param in vslots.params_of(name):
        stype = vslots.slot_type_for(name, param)
        slot: dict[str, Any] = {"name": param, "type": stype.name}
        if stype.multiple:
            slot["multipleValues"] = {"enabled": True}
        if prompt(name, param, locale, registry):
            slot["samples"] = [f"{{{param}}}"]
        defs.append(slot)
    return defs


def interaction_model(locale: str, registry: Mapping[str, intents.IntentSpec]) -> dict[str, Any]:
    """The interaction model for ``locale``: intents and samples, slot types with ids, dialog and prompts."""
    seen: set[str] = set()
    model_intents: list[dict[str, Any]] = []
    builtin_samples = {vslots.ALEXA_BUILTINS[n]: n for n in ("help", "confirm", "deny")}
    for alexa_name in REQUIRED_BUILTINS:
        entry: dict[str, Any] = {"name": alexa_name, "samples": []}
        if alexa_name in builtin_samples and builtin_samples[alexa_name] in registry:
            samples = [u for u in utterances(builtin_samples[alexa_name], locale, registry) if u not in seen]
            seen.update(samples)
            entry["samples"] = samples
        model_intents.append(entry)
    dialog_intents: list[dict[str, Any]] = []
    prompts: list[dict[str, Any]] = []
    used_types: dict[str, vslots.SlotType] = {}
    for name in registry:
        if name in vslots.ALEXA_BUILTINS:
            continue
        alexa_name = vslots.alexa_intent_name(name)
        samples = [u for u in utterances(name, locale, registry) if u not in seen]
        seen.update(samples)
        model_intents.append({"name": alexa_name, "slots": _slot_defs(name, locale, registry), "samples": samples})
        dialog_slots = []
        for param in vslots.params_of(name):
            stype = vslots.slot_type_for(name, param)
            used_types.setdefault(stype.name, stype)
            text = prompt(name, param, locale, registry)
            dslot: dict[str, Any] = {
                "name": param,
                "type": stype.name,
                "confirmationRequired": False,
                "elicitationRequired": bool(text),
                "prompts": {},
            }
            if text:
                prompt_id = f"Elicit.Slot.{alexa_name}.{param}"
                dslot["prompts"] = {"elicitation": prompt_id}
                prompts.append({"id": prompt_id, "variations": [{"type": "PlainText", "value": text}]})
            dialog_slots.append(dslot)
        # every custom intent is in the dialog model, so Dialog.ConfirmIntent/ElicitSlot may target any of them
        dialog_intents.append({"name": alexa_name, "confirmationRequired": False, "prompts": {}, "slots": dialog_slots})
    types = []
    for type_name, stype in used_types.items():
        values = [
            {"id": value_id, "name": {"value": words[0], "synonyms": words[1:]}}
            for value_id, words in synonyms_for(stype, locale).items()
        ]
        types.append({"name": type_name, "values": values})
    return {
        "interactionModel": {
            "languageModel": {"invocationName": invocation(locale), "intents": model_intents, "types": types},
            "dialog": {"intents": dialog_intents, "delegationStrategy": "SKILL_RESPONSE"},
            "prompts": prompts,
        }
    }
