"""`GET /openapi.json`: an OpenAPI 3.1 document generated from the app's own URL map.

Views describe themselves with `@describe(...)`; any route without a description still appears (with a
generic response), so the document always covers every route that exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

F = TypeVar("F", bound=Callable[..., Any])
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
PROBLEM_TYPE = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def describe(
    summary: str,
    *,
    tags: tuple[str, ...] = (),
    auth: str | None = None,
    request: dict[str, Any] | None = None,
    request_type: str = "application/json",
    responses: dict[int, str] | None = None,
    response_type: str | tuple[str, ...] = "application/json",
    error_type: str | None = None,
) -> Callable[[F], F]:
    """Attach OpenAPI metadata to a view function (``response_type``: one media type, or each one it serves)."""

    def wrap(fn: F) -> F:
        fn._openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "tags": list(tags),
            "auth": auth,
            "request": request,
            "request_type": request_type,
            "responses": responses or {200: "OK"},
            "response_type": response_type,
            "error_type": error_type,
        }
        return fn

    return wrap


def _content(code: int, response_type: str | tuple[str, ...] | None, error_type: str | None = None) -> dict[str, Any]:
    """Media types of one response: problem+json for errors, and HTML pages answer their errors as HTML too;
    a protocol with its own error format (OAuth's RFC 6749 JSON) declares it as ``error_type``."""
    types = (response_type,) if isinstance(response_type, str) else (response_type or ("application/json",))
    if code < 400:
        return {media: {"schema": {}} for media in types}
    content: dict[str, Any] = {PROBLEM_TYPE: {"schema": PROBLEM_REF}}
    if "text/html" in types:
        content["text/html"] = {"schema": {}}
    if error_type is not None:
        content[error_type] = {"schema": {"type": "object"}}
    return content


def build_spec(app: Flask, *, title: str = "OmniOps Assistant Gateway", version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        meta: dict[str, Any] = getattr(view, "_openapi", {}) or {}
        path = _PARAM.sub(r"{\1}", rule.rule)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(rule.rule)
        ]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": f"{rule.endpoint}_{method.lower()}",
                "summary": meta.get("summary", rule.endpoint.replace("_", " ")),
                "tags": meta.get("tags") or [rule.endpoint.split(".")[0]],
                "responses": {
                    str(code): {
                        "description": text,
                        "content": _content(code, meta.get("response_type"), meta.get("error_type")),
                    }
                    for code, text in (meta.get("responses") or {200: "OK"}).items()
                },
            }
            if params:
                op["parameters"] = params
            if meta.get("auth"):
                op["security"] = [{meta["auth"]: []}]
            if meta.get("request") is not None and method in ("POST", "PUT", "PATCH"):
                op["requestBody"] = {
                    "required": True,
                    "content": {meta.get("request_type", "application/json"): {"schema": meta["request"]}},
                }
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "code": {"type": "string"},
                        "request_id": {"type": ["string", "null"]},
                    },
                    "required": ["type", "title", "status"],
                }
            },
            "securitySchemes": {
                "ownerToken": {"type": "http", "scheme": "bearer"},
                "widgetSession": {"type": "http", "scheme": "bearer"},
                "alexaSignature": {"type": "apiKey", "in": "header", "name": "Signature-256"},
                "googleJwt": {"type": "apiKey", "in": "header", "name": "google-assistant-signature"},
                "twilioSignature": {"type": "apiKey", "in": "header", "name": "X-Twilio-Signature"},
            },
        },
    }
