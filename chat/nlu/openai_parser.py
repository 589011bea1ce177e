"""OpenAI tool-calling parser: the model picks one tool (= one intent); pydantic validates the arguments.

The tools are generated from ``core.intents``: one function per intent, named after it, described by the
intent's summary and sample utterances, with the JSON schema of its params model as ``parameters``. The
model only *chooses*; nothing is executed here. Any failure — timeout, connection or HTTP error, no tool
call, several tool calls, an unknown tool name, arguments that are not a JSON object or do not validate —
falls back to the rule parser, with a warning that names the failure but never the owner's text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from core.intents import INTENTS

from .base import Parser, ParseResult
from .rules import RuleParser

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

log = logging.getLogger("omniops.chat.nlu")

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 8.0
SYSTEM_PROMPT = (
    "You route messages from a store owner to the OmniOps assistant. Call exactly one tool: the one whose "
    "description matches what the owner asks. Fill only the arguments the owner actually gave; leave the "
    "others out. Schedules use the form 'every day', 'every week' or 'every monday' with an optional "
    "' at HH:MM' (24-hour). If the message is a yes or no answer, call confirm or deny. If it is about "
    "anything else, call unknown. Never answer in plain text."
)


class OpenAIParseError(Exception):
    """The model's answer could not be used; the message says why, never what the owner wrote."""


def _inline_refs(schema: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = defs[schema["$ref"].rsplit("/", 1)[-1]]
            return _inline_refs(target, defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k not in ("$defs", "title")}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


def _merge_enums(schema: Any) -> Any:
    """Fold the string-enum branches of each ``anyOf`` into one enum (``Service | Workflows | Task`` → one list).

    The model then sees one list of allowed values per param; the null branch and any other branch stay.
    """
    if isinstance(schema, list):
        return [_merge_enums(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _merge_enums(v) for k, v in schema.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list):
        enums = [b for b in branches if isinstance(b, dict) and b.get("type") == "string" and "enum" in b]
        if len(enums) > 1:
            values = [v for b in enums for v in b["enum"]]
            merged = {"type": "string", "enum": list(dict.fromkeys(values))}
            rest = [b for b in branches if not any(b is e for e in enums)]
            out["anyOf"] = [merged, *rest]
    return out


def tool_schemas() -> list[dict[str, Any]]:
    """One OpenAI ``function`` tool per registry intent, parameters from its pydantic params model."""
    tools: list[dict[str, Any]] = []
    for spec in INTENTS.values():
        schema = spec.params.model_json_schema()
        params = _merge_enums(_inline_refs(schema, schema.get("$defs", {})))
        params.setdefault("properties", {})
        params["type"] = "object"
        params["additionalProperties"] = False
        examples = "; ".join(f'"{u}"' for u in spec.utterances[:4])
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": spec.name,
                    "description": f"{spec.summary} Examples: {examples}.",
                    "parameters": params,
                },
            }
        )
    return tools


def result_from_tool_call(name: str, arguments: str | None) -> ParseResult:
    """Validate one tool call (name + JSON arguments) into a ``ParseResult``; raises ``OpenAIParseError``."""
    spec = INTENTS.get(name)
    if spec is None:
        raise OpenAIParseError("the model called a tool that is not an intent")
    try:
        args = json.loads(arguments) if arguments and arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise OpenAIParseError("tool arguments are not valid JSON") from exc
    if not isinstance(args, dict):
        raise OpenAIParseError("tool arguments are not a JSON object")
    try:
        params = spec.validate_params({k: v for k, v in args.items() if v is not None})
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise OpenAIParseError(f"tool arguments do not validate ({exc.__class__.__name__})") from None
    return ParseResult(intent=spec.name, params=params, confidence=0.9)


class OpenAIParser:
    """Parses with an OpenAI-compatible chat completions endpoint; falls back to ``fallback`` on any error."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        model: str = DEFAULT_MODEL,
        timeout: float = DEFAULT_TIMEOUT,
        fallback: Parser | None = None,
    ) -> None:
        import openai

        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        self._model = model
        self._fallback: Parser = fallback or RuleParser()
        self._tools = tool_schemas()

    def __repr__(self) -> str:
        return f"OpenAIParser(model={self._model!r}, base_url={str(self._client.base_url)!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def parse(self, text: str, *, locale: str = "en-US") -> ParseResult:
        """Ask the model for one tool call; on any failure return the rule parser's answer."""
        try:
            return self._ask(text, locale)
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            log.warning(
                "OpenAI parser failed (%s%s); using the rule parser",
                type(exc).__name__,
                f", HTTP {status}" if status else "",
            )
            return self._fallback.parse(text, locale=locale)

    def extract_param(self, intent: str, param: str, text: str, locale: str = "en-US") -> Any | None:
        """Answers to a pending question are short; the deterministic extractor reads them."""
        return self._fallback.extract_param(intent, param, text, locale)

    def _ask(self, text: str, locale: str) -> ParseResult:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": f"{SYSTEM_PROMPT} The owner's locale is {locale}."},
            {"role": "user", "content": text},
        ]
        completion = self._client.chat.completions.create(
            model=self._model,
            messages=messages,
            tools=cast("list[ChatCompletionFunctionToolParam]", self._tools),
            tool_choice="required",
            temperature=0,
        )
        if not completion.choices:
            raise OpenAIParseError("the response has no choices")
        calls = completion.choices[0].message.tool_calls or []
        if len(calls) != 1:
            raise OpenAIParseError(f"expected one tool call, got {len(calls)}")
        call = calls[0]
        function = getattr(call, "function", None)
        if function is None or not getattr(function, "name", None):
            raise OpenAIParseError("the tool call has no function name")
        return result_from_tool_call(str(function.name), function.arguments)
