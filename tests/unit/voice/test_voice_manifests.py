"""Generated skill manifests: committed files are up to date, models are internally valid, drift is caught."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core import intents
from voice import slots as vslots
from voice.manifests import DEFAULT_PUBLIC_URL, build, check, generate
from voice.manifests.common import ALEXA_LOCALES

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "skill_manifests"


def _modified_registry() -> dict[str, intents.IntentSpec]:
    reg = dict(intents.INTENTS)
    spec = reg["setup_store"]
    reg["setup_store"] = dataclasses.replace(spec, utterances=(*spec.utterances, "launch my new shop"))
    return reg


def test_committed_manifests_are_up_to_date() -> None:
    assert check(COMMITTED, DEFAULT_PUBLIC_URL) == []


def test_check_fails_after_a_registry_change() -> None:
    problems = check(COMMITTED, DEFAULT_PUBLIC_URL, registry=_modified_registry())
    assert "differs: alexa/skill-package/interactionModels/custom/en-US.json" in problems
    assert "differs: google/custom/intents/setup_store.yaml" in problems
    assert not any("de-DE" in p for p in problems)  # German words come from the catalog, not the registry


def test_check_fails_for_another_public_url() -> None:
    assert "differs: alexa/skill-package/skill.json" in check(COMMITTED, "https://other.example.net")


def test_build_then_check_and_drift_kinds(tmp_path: Path) -> None:
    written = build(tmp_path, "https://voice.example.org")
    assert len(written) == len(generate("https://voice.example.org"))
    assert check(tmp_path, "https://voice.example.org") == []
    (tmp_path / "alexa/skill-package/skill.json").unlink()
    (tmp_path / "google/custom/intents/old_intent.yaml").write_text("trainingPhrases: []\n")
    problems = check(tmp_path, "https://voice.example.org")
    assert problems == [
        "missing: alexa/skill-package/skill.json",
        "not generated (stale): google/custom/intents/old_intent.yaml",
    ]
    build(tmp_path, "https://voice.example.org")
    assert check(tmp_path, "https://voice.example.org") == []


def test_skill_json_endpoint_permissions_and_events() -> None:
    files = generate("https://voice.example.org")
    manifest = json.loads(files["alexa/skill-package/skill.json"])["manifest"]
    assert manifest["apis"]["custom"]["endpoint"]["uri"] == "https://voice.example.org/v1/channels/alexa"
    assert manifest["permissions"] == [{"name": "alexa::devices:all:notifications:write"}]
    assert manifest["events"]["publications"] == [{"eventName": "AMAZON.MessageAlert.Activated"}]
    assert "SKILL_PERMISSION_ACCEPTED" in [s["eventName"] for s in manifest["events"]["subscriptions"]]
    assert set(manifest["publishingInformation"]["locales"]) == set(ALEXA_LOCALES)
    assert manifest["publishingInformation"]["locales"]["de-DE"]["examplePhrases"][0] == "Alexa, öffne omni ops"
    linking = json.loads(files["alexa/skill-package/accountLinking.json"])["accountLinkingRequest"]
    assert linking["authorizationUrl"] == "https://voice.example.org/oauth/authorize"
    assert linking["accessTokenUrl"] == "https://voice.example.org/oauth/token" and linking["type"] == "AUTH_CODE"


@pytest.mark.parametrize("locale", ALEXA_LOCALES)
def test_interaction_model_is_internally_valid(locale: str) -> None:
    files = generate(DEFAULT_PUBLIC_URL)
    model = json.loads(files[f"alexa/skill-package/interactionModels/custom/{locale}.json"])["interactionModel"]
    lm = model["languageModel"]
    assert lm["invocationName"] == lm["invocationName"].lower() and len(lm["invocationName"].split()) >= 2
    type_names = {t["name"] for t in lm["types"]}
    seen: set[str] = set()
    names = [i["name"] for i in lm["intents"]]
    for required in ("AMAZON.CancelIntent", "AMAZON.HelpIntent", "AMAZON.StopIntent", "AMAZON.NavigateHomeIntent"):
        assert required in names
    for intent in lm["intents"]:
        slot_names = {s["name"] for s in intent.get("slots", [])}
        for slot in intent.get("slots", []):
            assert slot["type"] in type_names
        for sample in intent["samples"]:
            assert not re.search(r"\d", sample), sample
            assert sample not in seen, f"duplicate sample {sample!r}"
            seen.add(sample)
            assert set(re.findall(r"\{(\w+)\}", sample)) <= slot_names, sample
            assert not re.search(r"\}\s*\{", sample)
        if intent["name"].startswith("AMAZON.FallbackIntent"):
            assert intent["samples"] == []
    for name in intents.INTENTS:
        if name not in vslots.ALEXA_BUILTINS:
            intent = next(i for i in lm["intents"] if i["name"] == vslots.alexa_intent_name(name))
            assert intent["samples"], f"{name} has no samples in {locale}"
    prompt_ids = {p["id"] for p in model["prompts"]}
    for dialog in model["dialog"]["intents"]:
        for slot in dialog["slots"]:
            if slot["elicitationRequired"]:
                assert slot["prompts"]["elicitation"] in prompt_ids
    for stype in lm["types"]:
        ids = [v["id"] for v in stype["values"]]
        assert len(ids) == len(set(ids))


def test_german_model_uses_catalog_words_and_prompts() -> None:
    files = generate(DEFAULT_PUBLIC_URL)
    model = json.loads(files["alexa/skill-package/interactionModels/custom/de-DE.json"])["interactionModel"]
    store = next(i for i in model["languageModel"]["intents"] if i["name"] == "SetupStoreIntent")
    assert "richte meinen shop ein" in store["samples"]
    prompts = {p["id"]: p["variations"][0]["value"] for p in model["prompts"]}
    assert prompts["Elicit.Slot.SetupIntegrationIntent.service"].startswith("Welchen Dienst")
    report = next(t for t in model["languageModel"]["types"] if t["name"] == "REPORT")
    best = next(v for v in report["values"] if v["id"] == "best_sellers")
    assert "bestseller" in best["name"]["synonyms"]


def test_every_slot_value_id_maps_back_to_a_valid_param() -> None:
    for name in intents.INTENTS:
        for param in vslots.params_of(name):
            stype = vslots.slot_type_for(name, param)
            if stype.free_form:
                continue
            for value_id in stype.values:
                raw: Any = vslots.param_value(name, param, value_id=value_id, words=None)
                raw = (raw,) if stype.multiple else raw
                assert vslots.validated_params(name, {param: raw}), (name, param, value_id)


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_revoke_access_slot_is_a_revoke_target_in_the_alexa_model(locale: str) -> None:
    files = generate(DEFAULT_PUBLIC_URL)
    lm = json.loads(files[f"alexa/skill-package/interactionModels/custom/{locale}.json"])["interactionModel"][
        "languageModel"
    ]
    by_name = {i["name"]: i for i in lm["intents"]}
    assert by_name["RevokeAccessIntent"]["slots"][0]["type"] == "REVOKE_TARGET"
    assert by_name["SetupIntegrationIntent"]["slots"][0]["type"] == "SERVICE"
    assert by_name["FixIntegrationIntent"]["slots"][0]["type"] == "SERVICE"
    types = {t["name"]: {v["id"] for v in t["values"]} for t in lm["types"]}
    assert types["REVOKE_TARGET"] == {*types["SERVICE"], "schedules", "sales_report", "restock_low_inventory"}
    samples = by_name["RevokeAccessIntent"]["samples"]
    if locale == "en-US":
        assert "stop the weekly {service}" in samples
    else:
        assert "alle {service} stoppen" in samples


def test_google_project_is_valid_yaml_with_annotated_phrases() -> None:
    files = generate(DEFAULT_PUBLIC_URL)
    google = {k: yaml.safe_load(v) for k, v in files.items() if k.startswith("google/")}
    hook = google["google/webhooks/ActionsOnGoogleFulfillment.yaml"]
    assert hook["httpsEndpoint"]["baseUrl"] == f"{DEFAULT_PUBLIC_URL}/v1/channels/google"
    intent = google["google/custom/intents/setup_integration.yaml"]
    assert {"name": "service", "type": {"name": "SERVICE"}} in intent["parameters"]
    assert "set up my ($service 'woocommerce' auto=true) store" in intent["trainingPhrases"]
    assert google["google/custom/global/setup_store.yaml"] == {"handler": {"webhookHandler": "omniops"}}
    de = google["google/custom/intents/de/setup_store.yaml"]
    assert "richte meinen shop ein" in de["trainingPhrases"]
    assert set(google["google/custom/types/SERVICE.yaml"]["synonym"]["entities"]) == {s.value for s in intents.Service}
    revoke = google["google/custom/intents/revoke_access.yaml"]
    assert {"name": "service", "type": {"name": "REVOKE_TARGET"}} in revoke["parameters"]
    targets = google["google/custom/types/REVOKE_TARGET.yaml"]["synonym"]["entities"]
    assert set(targets) == set(intents.REVOKE_TARGET_SYNONYMS)
    assert (
        "zeitpläne"
        in google["google/custom/types/de/REVOKE_TARGET.yaml"]["synonym"]["entities"]["schedules"]["synonyms"]
    )


def test_siri_description_lists_every_intent() -> None:
    data = json.loads(generate(DEFAULT_PUBLIC_URL)["siri/shortcut.json"])
    assert data["endpoint"] == f"{DEFAULT_PUBLIC_URL}/v1/channels/siri"
    assert set(data["intents"]) == set(intents.INTENTS)
    assert data["intents"]["schedule_workflow"]["params"]["tasks"]["list"] is True
    assert "schedules" in data["intents"]["revoke_access"]["params"]["service"]["values"]
    assert "schedules" not in data["intents"]["setup_integration"]["params"]["service"]["values"]
