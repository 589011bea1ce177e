"""Stripe's form encoding with bracket notation: ``a[b]=1``, ``l[]=x``, ``l[0]=x``."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.datastructures import MultiDict

_TOKEN = re.compile(r"\[([^\]]*)\]")


def decode(form: MultiDict[str, str]) -> dict[str, Any]:
    """Decode a form body into nested dicts and lists."""
    out: dict[str, Any] = {}
    for full_key, value in form.items(multi=True):
        head = full_key.split("[", 1)[0]
        path = [head, *_TOKEN.findall(full_key[len(head) :])]
        _assign(out, path, value)
    result = _lists(out)
    return result if isinstance(result, dict) else {}


def _assign(node: dict[str, Any], path: list[str], value: str) -> None:
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if part == "":
            part = f"__{len(node)}"
        if last:
            node[part] = value
        else:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() or k.startswith("__") for k in converted):
        return [converted[k] for k in sorted(converted, key=lambda k: int(k.lstrip("_")))]
    return converted


def truthy(value: Any) -> bool:
    """Stripe booleans arrive as the strings ``true``/``false``."""
    return str(value).lower() == "true"
