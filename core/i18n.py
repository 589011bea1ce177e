"""Owner-facing reply text in the request's locale, from message catalogs (``core/locales/<locale>.json``).

Handlers never hold reply text: they name a message key and its values. Locales fall back by language
(``de-AT`` → ``de-DE``) and then to ``en-US``; a key missing from every catalog is a bug and raises.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

DEFAULT_LOCALE = "en-US"


@lru_cache(maxsize=16)
def _catalog(locale: str) -> dict[str, str]:
    try:
        text = resources.files("core").joinpath("locales", f"{locale}.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    messages: dict[str, str] = json.loads(text).get("messages", {})
    return messages


@lru_cache(maxsize=64)
def available(locale: str) -> str:
    """The catalog that serves ``locale``: exact, else same language, else en-US."""
    if _catalog(locale):
        return locale
    language = locale.split("-")[0]
    same_language = f"{language}-{language.upper()}"  # de-AT → de-DE
    return same_language if _catalog(same_language) else DEFAULT_LOCALE


def t(locale: str | None, key: str, **values: Any) -> str:
    """The message ``key`` in ``locale``, formatted with ``values``."""
    for loc in (available(locale or DEFAULT_LOCALE), DEFAULT_LOCALE):
        template = _catalog(loc).get(key)
        if template is not None:
            return template.format(**values) if values else template
    raise KeyError(f"no message {key!r} in any catalog")


def message(locale: str | None, key: str) -> str | None:
    """The unformatted template of ``key`` in the catalog serving ``locale`` only (no fallback to en-US), or None."""
    return _catalog(available(locale or DEFAULT_LOCALE)).get(key)


def known(key: str) -> bool:
    """Whether ``key`` is in the default catalog (optional keys, e.g. a recipe's translated step titles)."""
    return key in _catalog(DEFAULT_LOCALE)


def plural(locale: str | None, key: str, count: int, **values: Any) -> str:
    """``key.one`` for exactly one, else ``key.other`` (both languages we ship count this way)."""
    return t(locale, f"{key}.{'one' if count == 1 else 'other'}", count=count, **values)
