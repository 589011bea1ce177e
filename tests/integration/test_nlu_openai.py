"""The OpenAI tool-calling parser against a real local OpenAI-compatible HTTP server.

The server (Flask under werkzeug, in a thread, on 127.0.0.1) answers ``POST /v1/chat/completions`` with
whatever the test scripts: good tool calls, malformed ones, unknown tools, bad JSON, invalid enum values,
errors and a response slower than the client timeout. Every failure must give the rule parser's answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response, request
from werkzeug.serving import make_server

from chat.nlu import OpenAIParser, RuleParser, build_parser
from core.intents import INTENTS

API_KEY = "sk-test-not-a-real-key-7f3a"
TEXT = "set up my WooCommerce store"
RULES_ANSWER = RuleParser().parse(TEXT)


@dataclass
class FakeOpenAI:
    """Scripted behaviour of the local server, and what it received."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def reply_tool_calls(self, *calls: dict[str, Any], content: str | None = None) -> None:
        self.status, self.delay = 200, 0.0
        self.body = completion(list(calls), content=content)


def completion(calls: list[dict[str, Any]], *, content: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "tool_calls" if calls else "stop", "message": message}],
    }


def call(name: str, arguments: str) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}


@pytest.fixture(scope="module")
def _running_server() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    app = Flask("fake_openai")

    @app.post("/v1/chat/completions")
    def completions() -> Response:
        fake.requests.append(json.loads(request.get_data()))
        fake.headers.append(dict(request.headers))
        if fake.delay:
            time.sleep(fake.delay)
        body = fake.body if isinstance(fake.body, str) else json.dumps(fake.body)
        return Response(body, status=fake.status, mimetype="application/json")

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{srv.server_port}/v1"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server(_running_server: tuple[FakeOpenAI, str]) -> tuple[FakeOpenAI, str]:
    """The module's server, with its script and its record reset for this test."""
    fake, url = _running_server
    fake.status, fake.body, fake.delay = 200, None, 0.0
    fake.requests.clear()
    fake.headers.clear()
    return fake, url


_PARSERS: dict[tuple[str, float], OpenAIParser] = {}


def make_parser(base_url: str, *, timeout: float = 5.0) -> OpenAIParser:
    """One parser per (server, timeout): building the HTTP client costs more than a test."""
    key = (base_url, timeout)
    if key not in _PARSERS:
        _PARSERS[key] = OpenAIParser(API_KEY, base_url=base_url, model="test-model", timeout=timeout)
    return _PARSERS[key]


def test_model_choice_is_used_and_validated(server: tuple[FakeOpenAI, str]) -> None:
    fake, url = server
    fake.reply_tool_calls(
        call("setup_integration", json.dumps({"service": "stripe", "store_url": "Shop.Example.com/"}))
    )
    result = make_parser(url).parse("zzz unrelated words")
    assert result.intent == "setup_integration"
    assert result.params == {"service": "stripe", "store_url": "https://shop.example.com"}


def test_request_carries_one_tool_per_intent_from_the_registry(server: tuple[FakeOpenAI, str]) -> None:
    fake, url = server
    fake.reply_tool_calls(call("help", "{}"))
    assert make_parser(url).parse("what can you do").intent == "help"
    sent = fake.requests[-1]
    assert sent["model"] == "test-model"
    assert sent["tool_choice"] == "required"
    assert [t["function"]["name"] for t in sent["tools"]] == list(INTENTS)
    schedule_tool = next(t for t in sent["tools"] if t["function"]["name"] == "schedule_workflow")
    props = schedule_tool["function"]["parameters"]["properties"]
    assert set(props) == {"schedule", "tasks"}
    assert "$ref" not in json.dumps(sent["tools"])
    assert sent["messages"][-1] == {"role": "user", "content": "what can you do"}
    assert fake.headers[-1]["Authorization"] == f"Bearer {API_KEY}"


def test_schedule_and_task_list_arguments(server: tuple[FakeOpenAI, str]) -> None:
    fake, url = server
    args = {"schedule": "Every Friday at 17:00", "tasks": ["restock_low_inventory", "sales_report"]}
    fake.reply_tool_calls(call("schedule_workflow", json.dumps(args)))
    result = make_parser(url).parse("fridays 5pm: both")
    assert result.params == {"schedule": "every friday at 17:00", "tasks": ["sales_report", "restock_low_inventory"]}


def test_null_arguments_are_treated_as_not_given(server: tuple[FakeOpenAI, str]) -> None:
    fake, url = server
    fake.reply_tool_calls(call("job_status", json.dumps({"run_id": None})))
    assert make_parser(url).parse("how is it going").as_json() == {"intent": "job_status", "params": {}}


BAD_ANSWERS: dict[str, Any] = {
    "unknown tool name": completion([call("drop_database", "{}")]),
    "invalid argument JSON": completion([call("setup_integration", '{"service": "stripe"')]),
    "arguments not an object": completion([call("setup_integration", '["stripe"]')]),
    "invalid enum value": completion([call("setup_integration", '{"service": "myspace"}')]),
    "unexpected argument": completion([call("setup_integration", '{"service": "stripe", "shell": "rm -rf /"}')]),
    "invalid store address": completion([call("setup_integration", '{"store_url": "ftp://x"}')]),
    "invalid schedule": completion([call("schedule_workflow", '{"schedule": "whenever"}')]),
    "tool call without function": completion([{"id": "call_1", "type": "function"}]),
    "tool call with empty name": completion([call("", "{}")]),
    "two tool calls": completion([call("help", "{}"), call("confirm", "{}")]),
    "no tool call, text instead": completion([], content="Sure! I set up WooCommerce for you."),
    "no choices": {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []},
    "body is not JSON": "<html>oops</html>",
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
def test_bad_answers_fall_back_to_rules(
    server: tuple[FakeOpenAI, str], case: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = server
    fake.status, fake.body = 200, BAD_ANSWERS[case]
    with caplog.at_level(logging.WARNING, logger="omniops.chat.nlu"):
        result = make_parser(url).parse(TEXT)
    assert result == RULES_ANSWER
    assert len(fake.requests) == 1
    warnings = [r for r in caplog.records if r.name == "omniops.chat.nlu" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    logged = caplog.text
    assert TEXT not in logged and "WooCommerce" not in logged and API_KEY not in logged


@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_http_errors_fall_back_to_rules(
    server: tuple[FakeOpenAI, str], status: int, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = server
    fake.status, fake.body = status, {"error": {"message": f"echo: {TEXT}", "type": "server_error"}}
    with caplog.at_level(logging.WARNING, logger="omniops.chat.nlu"):
        result = make_parser(url).parse(TEXT)
    assert result == RULES_ANSWER
    assert len(fake.requests) == 1, "no retries: the rules answer at once"
    assert f"HTTP {status}" in caplog.text
    assert TEXT not in caplog.text


def test_slow_response_beyond_timeout_falls_back(
    server: tuple[FakeOpenAI, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = server
    fake.reply_tool_calls(call("help", "{}"))
    fake.delay = 1.5
    with caplog.at_level(logging.WARNING, logger="omniops.chat.nlu"):
        result = make_parser(url, timeout=0.3).parse(TEXT)
    assert result == RULES_ANSWER
    assert "Timeout" in caplog.text


def test_unreachable_server_falls_back() -> None:
    parser = make_parser("http://127.0.0.1:9/v1", timeout=1.0)
    assert parser.parse(TEXT) == RULES_ANSWER


def test_build_parser_with_a_key_uses_the_server(server: tuple[FakeOpenAI, str]) -> None:
    fake, url = server
    fake.reply_tool_calls(call("list_integrations", "{}"))
    parser = build_parser(API_KEY, url)
    assert isinstance(parser, OpenAIParser)
    assert parser.parse("anything at all").intent == "list_integrations"
    assert API_KEY not in repr(parser)


def test_extract_param_stays_deterministic(server: tuple[FakeOpenAI, str]) -> None:
    fake, url = server
    assert make_parser(url).extract_param("setup_integration", "store_url", "mystore.com") == "https://mystore.com"
    assert fake.requests == []
