"""Message catalogs for voice replies and voice models, one JSON file per locale in ``voice/locales/``.

A catalog has ``messages`` (reply texts, ``str.format`` placeholders) and, for locales whose words are not
in the intent registry (the registry holds en-US), ``model`` (invocation name, utterances per intent with
``{param}`` slots, elicitation prompts, extra slot synonyms). Lookup falls back from ``de-AT`` to any
``de-*`` catalog, then to ``en-US``. Translations live in the catalogs, never in code.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LOCALE = "en-US"


@cache
def _available() -> tuple[str, ...]:
    root = resources.files("voice").joinpath("locales")
    return tuple(sorted(p.name.removesuffix(".json") for p in root.iterdir() if p.name.endswith(".json")))


@cache
def catalog(locale: str) -> dict[str, Any]:
    """The raw catalog for ``locale`` (exact file, or ``{}`` when there is none)."""
    if locale not in _available():
        return {}
    text = resources.files("voice").joinpath("locales", f"{locale}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def resolve_locale(locale: str | None) -> str:
    """The catalog locale used for ``locale``: exact, else same language, else ``en-US``."""
    if locale and locale in _available():
        return locale
    lang = (locale or "").split("-")[0].lower()
    for candidate in _available():
        if candidate.split("-")[0].lower() == lang:
            return candidate
    return DEFAULT_LOCALE


def translate(key: str, locale: str | None = None, **kw: Any) -> str:
    """The message ``key`` in ``locale`` (with fallback to en-US), formatted with ``kw``.

    Raises ``KeyError`` when no catalog has the key: a missing message is a bug, not a silent blank.
    """
    for loc in (resolve_locale(locale), DEFAULT_LOCALE):
        messages: dict[str, str] = catalog(loc).get("messages", {})
        if key in messages:
            return messages[key].format(**kw) if kw else messages[key]
    raise KeyError(f"no message {key!r} in any catalog")


def model_text(locale: str) -> dict[str, Any]:
    """The ``model`` section (utterances, prompts, synonyms) of the exact ``locale`` catalog, or ``{}``."""
    section: dict[str, Any] = catalog(locale).get("model", {})
    return section
