"""Reply text comes from message catalogs in the request's locale."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.i18n import available, t

CORE = Path(__file__).resolve().parents[3] / "core"


def _catalog(locale: str) -> dict[str, str]:
    return json.loads((CORE / "locales" / f"{locale}.json").read_text())["messages"]  # type: ignore[no-any-return]


def test_every_catalog_has_every_key_with_the_same_placeholders() -> None:
    english, german = _catalog("en-US"), _catalog("de-DE")
    assert set(english) == set(german)
    for key in english:
        assert set(re.findall(r"{(\w+)}", english[key])) == set(re.findall(r"{(\w+)}", german[key])), key


def test_every_key_the_handlers_use_exists() -> None:
    source = (CORE / "handlers.py").read_text() + (CORE / "messagebus.py").read_text()
    used = set(re.findall(r"""\bt\([^,]+,\s*["']([\w.]+)["']""", source))
    used |= set(re.findall(r'"((?:suggest|report)\.\w+|\w+_reprompt|what_next)"', source))
    assert used and used <= set(_catalog("en-US"))


@pytest.mark.parametrize(("locale", "served"), [("de-DE", "de-DE"), ("de-AT", "de-DE"), ("en-GB", "en-US"),
                                                ("fr-FR", "en-US")])
def test_locale_fallback(locale: str, served: str) -> None:
    assert available(locale) == served


def test_german_reply_is_german_and_formatted() -> None:
    assert t("de-DE", "setup_started", service="WooCommerce").startswith("Ich richte WooCommerce jetzt ein")
    assert t("en-US", "setup_started", service="Stripe").startswith("I'm setting up Stripe now")
    with pytest.raises(KeyError):
        t("de-DE", "no.such.key")
