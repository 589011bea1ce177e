"""The OpenAI tool schemas come from the params models: revoke_access.service lists every revoke target."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat.nlu import tool_schemas
from chat.nlu.openai_parser import result_from_tool_call
from core.intents import INTENTS, Service, Task, Workflows


def _service_schema(intent: str) -> dict[str, Any]:
    tool = next(t for t in tool_schemas() if t["function"]["name"] == intent)
    schema: dict[str, Any] = tool["function"]["parameters"]["properties"]["service"]
    return schema


def _enum(schema: dict[str, Any]) -> list[str]:
    enums = [b["enum"] for b in schema["anyOf"] if "enum" in b]
    assert len(enums) == 1, "one list of allowed values"
    return list(enums[0])


def test_revoke_access_service_enum_has_services_schedules_and_tasks() -> None:
    schema = _service_schema("revoke_access")
    assert _enum(schema) == [*(s.value for s in Service), Workflows.ALL.value, *(t.value for t in Task)]
    assert {"type": "null"} in schema["anyOf"]
    assert "$ref" not in json.dumps(schema)


@pytest.mark.parametrize("intent", ["setup_integration", "fix_integration"])
def test_other_service_params_keep_the_service_enum(intent: str) -> None:
    assert _enum(_service_schema(intent)) == [s.value for s in Service]


def test_every_revoke_enum_value_validates_through_the_params_model() -> None:
    for value in _enum(_service_schema("revoke_access")):
        assert INTENTS["revoke_access"].validate_params({"service": value}) == {"service": value}


@pytest.mark.parametrize("value", ["schedules", "sales_report", "restock_low_inventory", "stripe"])
def test_a_tool_call_naming_a_revoke_target_is_accepted(value: str) -> None:
    result = result_from_tool_call("revoke_access", json.dumps({"service": value}))
    assert result.as_json() == {"intent": "revoke_access", "params": {"service": value}}


def test_params_without_enum_unions_are_left_as_the_model_wrote_them() -> None:
    tool = next(t for t in tool_schemas() if t["function"]["name"] == "schedule_workflow")
    props = tool["function"]["parameters"]["properties"]
    assert props["schedule"]["anyOf"] == [{"maxLength": 40, "type": "string"}, {"type": "null"}]
    assert props["tasks"]["anyOf"][0]["items"]["enum"] == [t.value for t in Task]
