"""Shared pieces of the manifest generators: locales, utterance slotting, file rendering (JSON and YAML)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core import intents
from voice import slots as vslots
from voice.i18n import model_text

ALEXA_LOCALES: tuple[str, ...] = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN", "de-DE")
DEFAULT_PUBLIC_URL = "https://omniops.example.com"
INVOCATION = "omni ops"
SKILL_NAME = "OmniOps"

#: Words right before a value that say which of two same-typed params it fills.
_ROLE_HINTS: Mapping[str, tuple[str, ...]] = {
    "target": ("to", "into", "for", "onto", "nach", "zu"),
    "source": ("from", "von", "leave"),
}
_URL_RE = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)+\b")
_ALLOWED = re.compile(r"^[a-zäöüß' .{}_-]+$")


def is_english(locale: str) -> bool:
    """True for the locales whose words come from the registry (English)."""
    return locale.startswith("en")


def json_text(data: Any) -> str:
    """Deterministic, readable JSON file text."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _yaml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key) else json.dumps(key, ensure_ascii=False)


def _yaml_lines(value: Any, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping | list) and item:
                out.append(f"{pad}{_yaml_key(str(key))}:")
                _yaml_lines(item, indent + 1, out)
            elif isinstance(item, Mapping):
                out.append(f"{pad}{_yaml_key(str(key))}: {{}}")
            elif isinstance(item, list):
                out.append(f"{pad}{_yaml_key(str(key))}: []")
            else:
                out.append(f"{pad}{_yaml_key(str(key))}: {_yaml_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping | list) and item:
                out.append(f"{pad}-")
                _yaml_lines(item, indent + 1, out)
            else:
                out.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        out.append(f"{pad}{_yaml_scalar(value)}")


def yaml_text(data: Mapping[str, Any]) -> str:
    """Block-style YAML for plain dicts/lists/scalars (strings double-quoted), deterministic."""
    out: list[str] = []
    _yaml_lines(data, 0, out)
    return "\n".join(out) + "\n"


def synonyms_for(stype: vslots.SlotType, locale: str) -> dict[str, list[str]]:
    """Value id → spoken synonyms for ``locale`` (registry words plus the catalog's extra words).

    A union type (``stype.includes``, e.g. ``REVOKE_TARGET`` of ``SERVICE`` and ``TASK``) also takes the
    catalog words of the types it is made of, then its own.
    """
    catalog: Mapping[str, Mapping[str, Sequence[str]]] = model_text(locale).get("synonyms", {})
    out: dict[str, list[str]] = {}
    for value_id, words in stype.values.items():
        extra = [w for name in (*stype.includes, stype.name) for w in catalog.get(name, {}).get(value_id, ())]
        seen: list[str] = []
        for word in (*words, *extra):
            word = " ".join(word.lower().split())
            if word not in seen and _ALLOWED.match(word):
                seen.append(word)
        out[value_id] = seen or [value_id.replace("_", " ")]
    return out


def _clean(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[,!?;:]", " ", text)
    return " ".join(text.split())


def slot_template(name: str, text: str) -> str | None:
    """Turn an example utterance into a template with ``{param}`` slots, or ``None`` if it cannot be spoken.

    The longest synonym of each param's slot type is replaced; with two params of one type (source,
    target) the word before the value decides the role. Digits and symbols make it unusable for Alexa.
    """
    params = vslots.params_of(name)
    text = _clean(text)
    if "store_url" in params:
        text = _URL_RE.sub("{store_url}", text, count=1)
    matches: list[tuple[int, int, str]] = []  # start, end, param
    taken: set[str] = {"store_url"} if "{store_url}" in text else set()
    by_type: dict[str, list[str]] = {}
    for param in params:
        if param in ("store_url", "run_id"):
            continue
        by_type.setdefault(vslots.slot_type_for(name, param).name, []).append(param)
    for type_name, group in by_type.items():
        values = vslots.slot_types()[type_name].values
        words = sorted({w for k, ws in values.items() for w in (*ws, k.replace("_", " "))}, key=len, reverse=True)
        found: list[tuple[int, int]] = []
        for word in words:
            for m in re.finditer(rf"(?<![\w{{]){re.escape(word)}(?![\w}}])", text):
                if not any(m.start() < e and s < m.end() for s, e in found):
                    found.append((m.start(), m.end()))
        found.sort()
        free = list(group)
        for start, end in found:
            if not free:
                break
            before = text[:start].split()[-1:] or [""]
            role = next((p for p in free if before[0] in _ROLE_HINTS.get(p, ())), free[0])
            free.remove(role)
            matches.append((start, end, role))
            taken.add(role)
    for start, end, param in sorted(matches, reverse=True):
        text = text[:start] + "{" + param + "}" + text[end:]
    if not _ALLOWED.match(text) or re.search(r"\}\s*\{", text):
        return None
    return text


def utterances(name: str, locale: str, registry: Mapping[str, intents.IntentSpec]) -> list[str]:
    """Slotted sample utterances of intent ``name`` for ``locale`` (registry for English, catalog otherwise)."""
    templates: list[str | None]
    if is_english(locale):
        source: Iterable[str] = registry[name].utterances
        templates = [slot_template(name, u) for u in source]
    else:
        catalog: Sequence[str] = model_text(locale).get("utterances", {}).get(name, ())
        cleaned = [_clean(u) for u in catalog]
        for t in cleaned:
            unknown = set(re.findall(r"\{(\w+)\}", t)) - set(vslots.params_of(name))
            if unknown:
                raise ValueError(f"{locale} catalog utterance {t!r} of {name} uses unknown slots {sorted(unknown)}")
        templates = [t for t in cleaned if _ALLOWED.match(t) and not re.search(r"\}\s*\{", t)]
    out: list[str] = []
    for template in templates:
        if template is not None and template not in out:
            out.append(template)
    return out


def prompt(name: str, param: str, locale: str, registry: Mapping[str, intents.IntentSpec]) -> str | None:
    """The elicitation prompt for ``param`` of ``name`` in ``locale``."""
    if is_english(locale):
        return registry[name].prompts.get(param)
    found: str | None = model_text(locale).get("prompts", {}).get(f"{name}.{param}")
    return found


def invocation(locale: str) -> str:
    """The invocation name for ``locale``."""
    return str(model_text(locale).get("invocation", INVOCATION))
