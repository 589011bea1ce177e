"""Routes: the consent-link page (`GET|POST /consent/<token>`) and the owner API for standing grants."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from core.ports import ConsentStatus
from gateway.consent import pages
from gateway.openapi import describe

bp = Blueprint("consent", __name__)
bp.after_request(pages.secure_headers)


@bp.get("/consent/<token>")
@describe(
    "The consent page: what will happen, with Approve / Deny (never decides anything)",
    tags=("consent",),
    responses={200: "The request", 404: "Unknown link", 410: "Expired or already used"},
    response_type="text/html",
)
def show(token: str) -> Response:
    c = pages.container()
    record = c.consents.get_by_token(token)
    if record is None:
        return pages.unknown_link()
    pages.audit_view(c, record)
    if record.status is not ConsentStatus.PENDING:
        return pages.gone_page(record)
    return pages.request_page(c, record, token)


@bp.post("/consent/<token>")
@describe(
    "Approve or deny, once (form post with the CSRF value from the page)",
    tags=("consent",),
    request={"type": "object", "properties": {"decision": {"enum": ["approve", "deny"]}, "csrf": {"type": "string"}}},
    request_type="application/x-www-form-urlencoded",
    responses={200: "Decided", 400: "No decision", 403: "CSRF check failed", 404: "Unknown link", 410: "Gone"},
    response_type="text/html",
)
def decide(token: str) -> Response:
    c = pages.container()
    record = c.consents.get_by_token(token)
    if record is None:
        return pages.unknown_link()
    if not pages.csrf_ok(c.secret_key, token, request.cookies.get(pages.cookie_name(token)), request.form.get("csrf")):
        return pages.stale_page(record.locale)
    if record.status is not ConsentStatus.PENDING:
        return pages.gone_page(record)
    return pages.decide(c, record, token, request.form.get("decision"))


@bp.get("/v1/consents")
@describe(
    "The owner's active standing consents",
    tags=("consent",),
    auth="ownerToken",
    responses={200: "Grants", 401: "No or bad token", 403: "Token lacks the consents scope"},
)
def list_consents() -> Response:
    c = pages.container()
    principal = pages.owner_principal(c)
    grants = c.consents.list_standing(principal.owner_id or "")
    return jsonify(consents=[pages.grant_json(g, pages.schedule_of(c, g.id)) for g in grants])


@bp.post("/v1/consents/<consent_id>/revoke")
@describe(
    "Revoke a consent: future runs under it are refused",
    tags=("consent",),
    auth="ownerToken",
    responses={200: "Revoked", 401: "No or bad token", 404: "No such consent", 409: "Not an approved consent"},
)
def revoke(consent_id: str) -> Response:
    c = pages.container()
    record = pages.revoke(c, pages.owner_principal(c), consent_id)
    return jsonify(pages.grant_json(record, pages.schedule_of(c, record.id)))
