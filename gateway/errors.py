"""The HTTP error boundary: every error leaves as ``application/problem+json`` (RFC 9457).

Domain errors carry their own status and code; werkzeug's HTTP errors keep theirs; anything else is a 500
whose body names only the request id, with the traceback in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from core.errors import OmniOpsError, RateLimited
from gateway.logs import request_id_var

log = logging.getLogger("omniops.http")
PROBLEM = "application/problem+json"


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """Build a problem+json response, adding the request id."""
    body = {**body, "status": status, "request_id": request_id_var.get()}
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def init_app(app: Flask) -> None:
    """Register the boundary on ``app``."""

    @app.errorhandler(OmniOpsError)
    def _domain(err: OmniOpsError) -> Response:
        level = logging.WARNING if err.status >= 400 and err.status < 500 else logging.ERROR
        log.log(level, "request refused", extra={"code": err.code, "status": err.status})
        headers = {}
        if isinstance(err, RateLimited) and err.retry_after is not None:
            headers["Retry-After"] = str(int(err.retry_after + 0.999))
        return problem_response(err.status, err.problem(), headers)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        slug = (err.name or "error").lower().replace(" ", "_")
        body = {
            "type": f"https://omniops.dev/problems/{slug}",
            "title": err.name,
            "detail": err.description,
            "code": slug,
        }
        resp = problem_response(status, body)
        if status == 405 and err.get_response().headers.get("Allow"):
            resp.headers["Allow"] = err.get_response().headers["Allow"]
        return resp

    @app.errorhandler(RecursionError)
    def _too_deep(err: RecursionError) -> Response:
        # JSON nested past the interpreter's recursion limit (json.loads raises RecursionError, not ValueError,
        # so every parser in the request path would otherwise answer 500); logged in full in case it is a bug.
        log.warning("request refused: nesting too deep", exc_info=err)
        body = {
            "type": "https://omniops.dev/problems/malformed_request",
            "title": "Malformed request",
            "detail": "The request body is nested too deeply.",
            "code": "malformed_request",
        }
        return problem_response(400, body)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error")
        body = {
            "type": "https://omniops.dev/problems/internal",
            "title": "Internal error",
            "detail": "Something went wrong on our side. Quote the request id if you contact support.",
            "code": "internal",
        }
        return problem_response(500, body)
