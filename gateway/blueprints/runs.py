"""Owner API: where a run stands (`GET /v1/runs/<id>`) and its events (`GET /v1/runs/<id>/events`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from core.errors import NotFound
from core.handlers import describe_run
from core.ports import RunRecord
from gateway.auth import require_owner
from gateway.openapi import describe

bp = Blueprint("runs", __name__)


def _owned_run(run_id: str) -> RunRecord:
    principal = require_owner("runs:read")
    run: RunRecord | None = current_app.extensions["omniops"].journal.get_run(run_id)
    if run is None or run.owner_id != principal.owner_id:
        raise NotFound("No such run.")  # another owner's run is indistinguishable from a missing one
    return run


def run_json(run: RunRecord, text: str) -> dict[str, Any]:
    """The public view of a run (no params beyond the service, no secrets)."""
    return {
        "id": run.id,
        "recipe": run.recipe,
        "status": run.status,
        "status_text": text,
        "summary": run.summary,
        "error": run.error,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
    }


@bp.get("/v1/runs/<run_id>")
@describe(
    "Where a run stands",
    tags=("runs",),
    auth="ownerToken",
    responses={200: "The run", 401: "No token", 404: "No such run"},
)
def get_run(run_id: str) -> Response:
    run = _owned_run(run_id)
    return jsonify(run_json(run, describe_run(run, current_app.extensions["omniops"].services)))


@bp.get("/v1/runs/<run_id>/events")
@describe(
    "A run's events after `?after=<seq>`",
    tags=("runs",),
    auth="ownerToken",
    responses={200: "Events", 401: "No token", 404: "No such run"},
)
def run_events(run_id: str) -> Response:
    run = _owned_run(run_id)
    after = request.args.get("after", default=-1, type=int)
    events = current_app.extensions["omniops"].journal.events(run.id, after_seq=after)
    return jsonify(events=[e.model_dump(mode="json") for e in events])
