"""Small WSGI helpers shared by the simulators (werkzeug only, no Flask)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

WSGIEnv = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[WSGIEnv, StartResponse], Iterable[bytes]]

__all__ = ["Request", "Response", "StartResponse", "WSGIApp", "WSGIEnv", "html_page", "json_response", "parse_form"]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the given status and extra headers."""
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def html_page(title: str, body: str, status: int = 200) -> Response:
    """A small HTML page."""
    doc = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"
    return Response(doc, status=status, mimetype="text/html")


def parse_form(request: Request) -> MultiDict[str, str]:
    """The form-encoded body of a request (empty for other content types)."""
    return request.form
