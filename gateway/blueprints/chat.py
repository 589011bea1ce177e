"""Chat widget routes: sessions, messages, consent decisions, live events (SSE), static files, demo page.

Every view is read → verify → parse → bus → render. Authentication is the widget session bearer token (no
cookies, so decisions are CSRF-safe); origins are checked per owner (see `gateway.widget_sessions`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, request, send_from_directory

import chat
from chat.sessions import WidgetSession, bearer_token, normalize_origin, snippet
from chat.widget import parse_decision, parse_message, render
from core.commands import Channel
from core.errors import Forbidden, InputError, MalformedRequest
from core.handlers import DecideConsent
from gateway import sse
from gateway.openapi import describe
from gateway.widget_sessions import (
    ALLOW_HEADERS,
    EXPOSE_HEADERS,
    ChatContainer,
    chat_container,
    check_origin,
    signer_for,
)

bp = Blueprint("chat", __name__)
STATIC_DIR = Path(chat.__file__).resolve().parent / "static"
_CHAT_JSON = {"type": "object"}


# ------------------------------------------------------------------------------------------------ helpers
def _ip() -> str:
    return request.remote_addr or "-"


def _session(c: ChatContainer) -> WidgetSession:
    """Verify the bearer token, its origin binding and the rate limits; the session for this request."""
    c.rate_limiter.check("chat_ip", _ip())
    session = signer_for(c.secret_key).read_session(
        bearer_token(request.headers.get("Authorization")), now=c.clock.now()
    )
    check_origin(request.headers.get("Origin"), session.origin, required=False)
    c.rate_limiter.check("chat_owner", session.owner_id)
    return session


def _owner_session(c: ChatContainer) -> WidgetSession:
    session = _session(c)
    if not session.logged_in:
        raise Forbidden("Sign in to OmniOps to see your jobs and approve requests.")
    return session


def _widget_key_param() -> str:
    body = request.get_json(silent=True)
    raw = request.args.get("key") or (body.get("key") if isinstance(body, dict) else None)
    return raw if isinstance(raw, str) else ""


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise MalformedRequest("Send a JSON body with Content-Type: application/json.")
    return body


@bp.after_request
def _cors(response: Response) -> Response:
    """CORS headers for the page that embeds the widget (no credentials: tokens, never cookies)."""
    origin = request.headers.get("Origin")
    if origin and request.path.startswith("/v1/chat/") and response.status_code != 403:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response.headers.add("Vary", "Origin")
    return response


# ------------------------------------------------------------------------------------------------ routes
@bp.route("/v1/chat/sessions", methods=["OPTIONS"])
@bp.route("/v1/chat/messages", methods=["OPTIONS"])
@bp.route("/v1/chat/events", methods=["OPTIONS"])
@bp.route("/v1/chat/consents/<consent_id>", methods=["OPTIONS"])
def preflight(consent_id: str | None = None) -> Response:
    """CORS preflight. Session issuance checks the widget key's origins; token routes check on the real call."""
    if request.path == "/v1/chat/sessions":
        key = signer_for(chat_container().secret_key).read_key(request.args.get("key", ""))
        check_origin(request.headers.get("Origin"), key.origins, required=True)
    resp = Response(status=204)
    resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    resp.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    resp.headers["Access-Control-Max-Age"] = "600"
    return resp


@bp.post("/v1/chat/sessions")
@describe(
    "Exchange a widget key for a short-lived session token (only from an allowed Origin)",
    tags=("chat",),
    request={"type": "object", "properties": {"key": {"type": "string"}}},
    responses={201: "Session issued", 401: "Widget key forged", 403: "Origin not allowed", 429: "Too many"},
)
def create_session() -> tuple[Response, int]:
    c = chat_container()
    c.rate_limiter.check("chat_session_issue_ip", _ip())
    signer = signer_for(c.secret_key)
    key = signer.read_key(_widget_key_param())
    origin = check_origin(request.headers.get("Origin"), key.origins, required=True)
    token, session = signer.issue_session(
        key, origin=normalize_origin(origin or ""), session_id=c.ids.new_id("ws"), now=c.clock.now()
    )
    return jsonify(
        token=token,
        expires_at=datetime.fromtimestamp(session.expires_at, UTC).isoformat(),
        logged_in=session.logged_in,
        session_id=session.session_id,
    ), 201


@bp.post("/v1/chat/messages")
@describe(
    "Send one chat message; returns the assistant's reply as chat JSON",
    tags=("chat",),
    auth="widgetSession",
    request={"type": "object", "properties": {"text": {"type": "string"}}},
    responses={200: "Reply", 400: "Malformed", 401: "No or bad session", 403: "Origin", 429: "Too many"},
)
def post_message() -> Response:
    c = chat_container()
    session = _session(c)
    body = _json_body()
    default_locale = "en-US"
    if not (isinstance(body, dict) and body.get("locale")):  # only then: whose widget this is sets the language
        owner = c.owners.get(session.owner_id)
        default_locale = owner.locale if owner is not None else default_locale
    command = parse_message(
        body,
        session=session,
        parse_text=c.parse_text,
        now=c.clock.now(),
        request_id=g.get("request_id", "-"),
        default_locale=default_locale,
    )
    return jsonify(render(c.bus.handle(command)))


@bp.post("/v1/chat/consents/<consent_id>")
@describe(
    "Approve or decline a consent card from a logged-in widget session",
    tags=("chat",),
    auth="widgetSession",
    request={"type": "object", "properties": {"approve": {"type": "boolean"}}},
    responses={200: "Decision recorded", 401: "No session", 403: "Not allowed", 404: "Unknown", 409: "Already decided"},
)
def decide_consent(consent_id: str) -> Response:
    c = chat_container()
    session = _owner_session(c)
    approve = parse_decision(_json_body())
    decision = DecideConsent(
        consent_id=consent_id,
        owner_id=session.owner_id,
        approve=approve,
        via="card",
        channel=Channel.WIDGET,
        auth=session.auth,
        ip_address=_ip(),
        user_agent=(request.user_agent.string or "")[:256] or None,
    )
    return jsonify(render(c.bus.handle_internal(decision)))


@bp.get("/v1/chat/events")
@describe(
    "The owner's run progress as server-sent events (or JSON with ?poll=1)",
    tags=("chat",),
    auth="widgetSession",
    response_type=("text/event-stream", "application/json"),
    responses={200: "Event stream", 401: "No session", 403: "Visitor session or origin", 429: "Too many"},
)
def events() -> Response:
    c = chat_container()
    session = _owner_session(c)
    after = request.headers.get("Last-Event-ID") or request.args.get("after") or None
    if after is not None and len(after) > 200:
        raise InputError("Last-Event-ID is too long.")
    if request.args.get("poll"):
        return jsonify(events=sse.poll_events(c.events, session.owner_id, after=after))
    frames = sse.stream_events(c.events, session.owner_id, after=after)
    return Response(
        frames, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@bp.get("/v1/chat/widget.js", defaults={"name": "widget.js"})
@bp.get("/v1/chat/widget.css", defaults={"name": "widget.css"})
@describe(
    "The embeddable chat widget (script and style)", tags=("chat",), response_type=("text/javascript", "text/css")
)
def static_file(name: str) -> Response:
    resp = send_from_directory(STATIC_DIR, name, max_age=300)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/demo")
@describe(
    "Demo shop page hosting the chat widget (demo mode only)",
    tags=("chat",),
    response_type="text/html",
    responses={200: "Demo page", 404: "Not in demo mode"},
)
def demo_page() -> Response:
    c = chat_container()
    if not getattr(c, "demo", False):
        abort(404)
    origin = normalize_origin(request.host_url)
    owner_id = str(getattr(c, "demo_owner_id", "own_demo"))
    key = signer_for(c.secret_key).issue_key(owner_id=owner_id, origins=[origin], person_id=owner_id, now=c.clock.now())
    html = (STATIC_DIR / "demo.html").read_text().replace("{{SNIPPET}}", snippet(public_url=origin, key=key))
    return Response(html, mimetype="text/html")
