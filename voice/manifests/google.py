"""Google Actions Builder project (YAML): settings, webhook, global intent handlers, intents, types.

One webhook handler (``omniops``) receives every intent; training phrases annotate params as
``($param 'example' auto=true)``. English is the default locale, German lives in ``de/`` sub-folders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core import intents
from voice import slots as vslots
from voice.google_assistant import WEBHOOK_HANDLER
from voice.i18n import translate
from voice.manifests.common import SKILL_NAME, synonyms_for, utterances, yaml_text

GOOGLE_ENDPOINT_PATH = "/v1/channels/google"
GOOGLE_LOCALES = {"en": "en-US", "de": "de-DE"}  # Actions locale → catalog locale
PROJECT_ID = "omniops-assistant"
SKIP = frozenset({"unknown"})  # answered by the NO_MATCH system intents


def _phrase(name: str, template: str, locale: str) -> str:
    def example(match: re.Match[str]) -> str:
        param = match.group(1)
        stype = vslots.slot_type_for(name, param)
        words = next(iter(synonyms_for(stype, locale).values()))
        sample = words[0]
        return f"(${param} '{sample}' auto=true)"

    return re.sub(r"\{(\w+)\}", example, template)


def project_files(public_url: str, registry: Mapping[str, intents.IntentSpec]) -> dict[str, str]:
    """Relative path under ``google/`` → file text."""
    base = public_url.rstrip("/")
    files: dict[str, str] = {
        "manifest.yaml": yaml_text({"version": "1.0"}),
        "settings/settings.yaml": yaml_text(
            {
                "projectId": PROJECT_ID,
                "defaultLocale": "en",
                "localizedSettings": {"displayName": SKILL_NAME, "pronunciation": "Omni Ops"},
                "category": "BUSINESS_AND_FINANCE",
                "accountLinking": {
                    "enableAccountCreation": False,
                    "linkingType": "OAUTH",
                    "authGrantType": "AUTH_CODE",
                    "appClientId": "omniops-google",
                    "authorizationUrl": f"{base}/oauth/authorize",
                    "tokenUrl": f"{base}/oauth/token",
                    "scopes": ["voice"],
                },
            }
        ),
        "settings/de/settings.yaml": yaml_text(
            {"localizedSettings": {"displayName": SKILL_NAME, "pronunciation": "Omni Ops"}}
        ),
        "webhooks/ActionsOnGoogleFulfillment.yaml": yaml_text(
            {"handlers": [{"name": WEBHOOK_HANDLER}], "httpsEndpoint": {"baseUrl": base + GOOGLE_ENDPOINT_PATH}}
        ),
        "actions/actions.yaml": yaml_text({"actions": {"actions.intent.MAIN": {}}}),
    }
    handler = yaml_text({"handler": {"webhookHandler": WEBHOOK_HANDLER}})
    files["custom/global/actions.intent.MAIN.yaml"] = handler
    files["custom/global/actions.intent.CANCEL.yaml"] = handler
    used_types: dict[str, vslots.SlotType] = {}
    for name in registry:
        if name in SKIP:
            continue
        files[f"custom/global/{name}.yaml"] = handler
        params = []
        for param in vslots.params_of(name):
            stype = vslots.slot_type_for(name, param)
            params.append({"name": param, "type": {"name": stype.name}})
            used_types.setdefault(stype.name, stype)
        for folder, locale in GOOGLE_LOCALES.items():
            phrases = [_phrase(name, t, locale) for t in utterances(name, locale, registry)]
            body: dict[str, Any] = {"trainingPhrases": phrases}
            if folder == "en" and params:
                body = {"parameters": params, **body}
            prefix = "custom/intents/" if folder == "en" else f"custom/intents/{folder}/"
            files[f"{prefix}{name}.yaml"] = yaml_text(body)
    for type_name, stype in used_types.items():
        for folder, locale in GOOGLE_LOCALES.items():
            prefix = "custom/types/" if folder == "en" else f"custom/types/{folder}/"
            if stype.free_form:
                body = {"freeText": {}} if folder == "en" else {}
            else:
                entities = {vid: {"synonyms": words} for vid, words in synonyms_for(stype, locale).items()}
                body = {"synonym": {"entities": entities, "matchType": "FUZZY_MATCH"}}
            if body:
                files[f"{prefix}{type_name}.yaml"] = yaml_text(body)
    files["resources/strings/en/strings.yaml"] = yaml_text({"welcome": translate("google.welcome", "en-US")})
    files["resources/strings/de/strings.yaml"] = yaml_text({"welcome": translate("google.welcome", "de-DE")})
    return files
