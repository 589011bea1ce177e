"""Language understanding for chat and SMS: text → intent + validated params, driven by ``core.intents``.

- ``RuleParser`` — deterministic rules, no network; the embedded default. English, and German for ``de-*``
  locales (``chat.nlu.german``).
- ``OpenAIParser`` — OpenAI tool calling (one tool per intent), falling back to the rules on any error.
- ``build_parser(openai_api_key, openai_base_url)`` — picks one of the two.
- ``parse(text, locale=…)`` / ``extract_param(intent, param, text, locale)`` — module-level helpers over a
  ``RuleParser``.

Multi-turn use: when ``INTENTS[intent].missing(params)`` is not empty, ask the prompt of the first missing
param; feed the next message to ``extract_param(intent, param, text, locale)``. When it returns ``None``, parse the
message afresh (it may be a new request, or "yes"/"no" → ``confirm``/``deny``).
"""

from __future__ import annotations

from typing import Any

from .base import Parser, ParseResult
from .cli import main_parse, register_cli
from .openai_parser import OpenAIParser, tool_schemas
from .rules import RuleParser

__all__ = [
    "OpenAIParser",
    "ParseResult",
    "Parser",
    "RuleParser",
    "build_parser",
    "extract_param",
    "main_parse",
    "parse",
    "register_cli",
    "tool_schemas",
]

_RULES = RuleParser()


def parse(text: str, *, locale: str = "en-US") -> ParseResult:
    """Understand ``text`` with the rule parser (deterministic, no network)."""
    return _RULES.parse(text, locale=locale)


def extract_param(intent: str, param: str, text: str, locale: str = "en-US") -> Any | None:
    """Read the answer for ``param`` of ``intent`` from ``text`` (rule based); ``None`` when absent."""
    return _RULES.extract_param(intent, param, text, locale)


def build_parser(
    openai_api_key: str | None,
    openai_base_url: str | None = None,
    *,
    model: str | None = None,
    timeout: float | None = None,
) -> Parser:
    """The OpenAI parser when a key is given (``OPENAI_API_KEY``), else the rule parser."""
    if not openai_api_key:
        return RuleParser()
    options: dict[str, Any] = {}
    if model:
        options["model"] = model
    if timeout is not None:
        options["timeout"] = timeout
    return OpenAIParser(openai_api_key, base_url=openai_base_url, **options)
