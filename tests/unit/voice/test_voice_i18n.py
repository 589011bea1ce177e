"""Message catalogs: fallback rules and completeness of the German catalog."""

from __future__ import annotations

import re

import pytest

from voice.i18n import catalog, resolve_locale, translate


def test_locale_fallbacks() -> None:
    assert resolve_locale("de-DE") == "de-DE"
    assert resolve_locale("de-AT") == "de-DE"
    assert resolve_locale("fr-FR") == "en-US"
    assert resolve_locale(None) == "en-US"


def test_translate_formats_and_falls_back() -> None:
    assert translate("manifest.example_1", "de-DE", invocation="omni ops") == "Alexa, öffne omni ops"
    assert translate("alexa.goodbye", "en-GB") == "Goodbye."
    with pytest.raises(KeyError):
        translate("no.such.key", "en-US")


def test_german_catalog_has_every_message_with_the_same_placeholders() -> None:
    en, de = catalog("en-US")["messages"], catalog("de-DE")["messages"]
    assert set(en) == set(de)
    for key, text in en.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", de[key])), key
