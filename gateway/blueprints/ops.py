"""Operator routes: liveness, readiness, metrics, and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from gateway.bootstrap import Container
from gateway.errors import problem_response
from gateway.openapi import build_spec, describe

bp = Blueprint("ops", __name__)


def _container() -> Container:
    container: Container = current_app.extensions["omniops"]
    return container


@bp.get("/healthz")
@describe("Liveness: the process answers", tags=("ops",))
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
@describe(
    "Readiness: database (and Redis in distributed mode) answer",
    tags=("ops",),
    responses={200: "Ready", 503: "A dependency is down"},
)
def readyz() -> Response:
    checks = _container().readiness()
    if all(ok for ok, _ in checks.values()):
        return jsonify(status="ready", checks={k: v[1] for k, v in checks.items()})
    failed = {k: v[1] for k, v in checks.items() if not v[0]}
    return problem_response(
        503,
        {
            "type": "https://omniops.dev/problems/not_ready",
            "title": "Not ready",
            "detail": "A dependency is not answering",
            "code": "not_ready",
            "checks": failed,
        },
    )


@bp.get("/metrics")
@describe("Prometheus metrics (text exposition format)", tags=("ops",), response_type="text/plain")
def metrics() -> Response:
    return Response(_container().metrics.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/openapi.json")
@describe("This OpenAPI document", tags=("ops",))
def openapi() -> Response:
    return jsonify(build_spec(current_app))
