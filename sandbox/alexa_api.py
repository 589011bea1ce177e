"""Alexa service APIs: Login with Amazon token endpoint, Proactive Events, progressive responses, skill messaging.

Every accepted call is recorded in ``AlexaState.sent`` so tests can assert what reached "the device".
Point ask-sdk at it by using the base URL as ``apiEndpoint`` and as the LWA endpoint.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sandbox._http import Request, Response, StartResponse, WSGIApp, WSGIEnv, json_response
from sandbox.faults import FaultMiddleware, Faults

__all__ = ["AlexaState", "create_alexa_app"]

SCOPES = ("alexa::proactive_events", "alexa:skill_messaging")
TOKEN_TTL = 3600
MAX_PROGRESSIVE = 5
SCHEMAS = (
    "AMAZON.WeatherAlert.Activated", "AMAZON.SportsEvent.Updated", "AMAZON.MessageAlert.Activated",
    "AMAZON.OrderStatus.Updated", "AMAZON.Occasion.Updated", "AMAZON.TrashCollectionAlert.Activated",
    "AMAZON.MediaContent.Available", "AMAZON.SocialGameInvite.Available",
)  # fmt: skip


class AlexaState:
    """LWA clients, issued tokens, and everything the skill sent."""

    def __init__(self, *, seed: int = 0, faults: Faults | None = None) -> None:
        self.faults = faults or Faults(seed=seed)
        self.lock = threading.RLock()
        rng = random.Random(f"{seed}:alexa")
        self.client_id = "amzn1.application-oa2-client." + f"{rng.getrandbits(128):032x}"
        self.client_secret = "amzn1.oa2-cs.v1." + f"{rng.getrandbits(256):064x}"
        self.lwa_tokens: dict[str, tuple[str, float]] = {}  # token -> (scope, expires_at)
        self.api_access_tokens: dict[str, str] = {}  # apiAccessToken -> userId
        self.sent: list[dict[str, Any]] = []
        self._reference_ids: set[tuple[str, str]] = set()
        self._progressive: dict[str, int] = {}

    def issue_api_access_token(self, user_id: str = "amzn1.ask.account.SANDBOX") -> str:
        """Mint the ``context.System.apiAccessToken`` a skill request would carry."""
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(48)
        with self.lock:
            self.api_access_tokens[token] = user_id
        return token

    def expire_tokens(self) -> None:
        """Expire every issued LWA token (next calls answer 403)."""
        with self.lock:
            self.lwa_tokens = {t: (s, 0.0) for t, (s, _) in self.lwa_tokens.items()}

    def sent_of(self, kind: str) -> list[dict[str, Any]]:
        """Recorded calls of one kind: ``proactive_event``, ``directive``, ``skill_message``."""
        with self.lock:
            return [s for s in self.sent if s["kind"] == kind]

    def _record(self, kind: str, **data: Any) -> None:
        with self.lock:
            self.sent.append({"kind": kind, "at": time.time(), **data})
        self.faults.count(f"alexa.{kind}s")


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"code": "TOO_MANY_REQUESTS" if status == 429 else "INTERNAL_SERVICE_ERROR", "message": message}


def create_alexa_app(state: AlexaState) -> WSGIApp:
    """The WSGI app (faults applied)."""

    def app(environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        return _handle(state, Request(environ))(environ, start_response)

    return FaultMiddleware(app, provider="alexa", faults=state.faults, error_body=_error_body)


def _handle(state: AlexaState, request: Request) -> Response:
    path = request.path.rstrip("/")
    if request.method != "POST":
        return json_response({"code": "NOT_FOUND", "message": "Not Found"}, 404)
    if path.lower() == "/auth/o2/token":
        return _lwa_token(state, request)
    if path in ("/v1/proactiveEvents/stages/development", "/v1/proactiveEvents"):
        return _proactive(state, request, stage="development" if path.endswith("development") else "live")
    if path == "/v1/directives":
        return _directive(state, request)
    if path.startswith("/v1/skillmessages/users/"):
        return _skill_message(state, request, path.rsplit("/", 1)[1])
    return json_response({"code": "NOT_FOUND", "message": "Not Found"}, 404)


def _lwa_token(state: AlexaState, request: Request) -> Response:
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return json_response(
            {
                "error": "unsupported_grant_type",
                "error_description": "The authorization grant type is not supported by the authorization server",
            },
            400,
        )
    if (
        form.get("client_id") != state.client_id
        or form.get("client_secret") != state.client_secret
        or state.faults.credential_state("alexa", state.client_secret) is not None
    ):
        return json_response({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
    scope = form.get("scope", "")
    if scope not in SCOPES:
        return json_response({"error": "invalid_scope", "error_description": "An unknown scope was requested"}, 400)
    token = "Atc|" + secrets.token_urlsafe(64)
    with state.lock:
        state.lwa_tokens[token] = (scope, time.time() + TOKEN_TTL)
    state.faults.count("alexa.lwa_tokens")
    return json_response({"access_token": token, "expires_in": TOKEN_TTL, "scope": scope, "token_type": "bearer"})


def _bearer(request: Request) -> str:
    auth = request.authorization
    return auth.token or "" if auth is not None and auth.type == "bearer" else ""


def _lwa_ok(state: AlexaState, request: Request, scope: str) -> bool:
    token = _bearer(request)
    with state.lock:
        entry = state.lwa_tokens.get(token)
    if entry is None or entry[0] != scope or entry[1] < time.time():
        return False
    return state.faults.credential_state("alexa", token) is None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _validate_event(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "Request body is not valid JSON."
    for f in ("timestamp", "referenceId", "expiryTime", "event", "localizedAttributes", "relevantAudience"):
        if f not in body:
            return f"Missing required field: {f}"
    ts, exp = _parse_time(body["timestamp"]), _parse_time(body["expiryTime"])
    if ts is None or exp is None:
        return "timestamp and expiryTime must be ISO 8601 date-times."
    if not 300 <= (exp - ts).total_seconds() <= 24 * 3600:
        return "expiryTime must be between 5 minutes and 24 hours after timestamp."
    event = body["event"]
    if not isinstance(event, dict) or event.get("name") not in SCHEMAS or not isinstance(event.get("payload"), dict):
        return "event.name must be a supported schema and event.payload an object."
    if event["name"] == "AMAZON.MessageAlert.Activated":
        err = _validate_message_alert(event["payload"])
        if err:
            return err
    locs = body["localizedAttributes"]
    if not isinstance(locs, list) or not locs or not all(isinstance(x, dict) and x.get("locale") for x in locs):
        return "localizedAttributes must be a non-empty list of objects with a locale."
    aud = body["relevantAudience"]
    if (
        not isinstance(aud, dict)
        or aud.get("type") not in ("Unicast", "Multicast")
        or not isinstance(aud.get("payload"), dict)
    ):
        return "relevantAudience.type must be Unicast or Multicast with a payload object."
    if aud["type"] == "Unicast" and not aud["payload"].get("user"):
        return "relevantAudience.payload.user is required for Unicast."
    return None


def _validate_message_alert(payload: dict[str, Any]) -> str | None:
    st = payload.get("state")
    if not isinstance(st, dict) or st.get("status") not in ("UNREAD", "FLAGGED"):
        return "event.payload.state.status must be UNREAD or FLAGGED."
    if "freshness" in st and st["freshness"] not in ("NEW", "OVERDUE"):
        return "event.payload.state.freshness must be NEW or OVERDUE."
    group = payload.get("messageGroup")
    if not isinstance(group, dict) or not isinstance(group.get("creator"), dict) or not group["creator"].get("name"):
        return "event.payload.messageGroup.creator.name is required."
    if not isinstance(group.get("count"), int) or group["count"] < 1:
        return "event.payload.messageGroup.count must be a positive integer."
    if "urgency" in group and group["urgency"] != "URGENT":
        return "event.payload.messageGroup.urgency must be URGENT."
    return None


def _proactive(state: AlexaState, request: Request, *, stage: str) -> Response:
    if not _lwa_ok(state, request, "alexa::proactive_events"):
        return json_response(
            {
                "code": "INVALID_ACCESS_TOKEN",
                "message": "The authentication token is invalid or doesn't have access to make this request",
            },
            403,
        )
    body = request.get_json(silent=True)
    err = _validate_event(body)
    if err is not None:
        return json_response({"code": "INVALID_REQUEST", "message": err}, 400)
    assert isinstance(body, dict)
    user = str(body["relevantAudience"]["payload"].get("user", "*"))
    ref = (user, str(body["referenceId"]))
    with state.lock:
        if ref in state._reference_ids:
            return json_response(
                {
                    "code": "DUPLICATE_REFERENCE_ID",
                    "message": "An event with this referenceId was already sent to this customer.",
                },
                409,
            )
        state._reference_ids.add(ref)
    state._record("proactive_event", stage=stage, body=body)
    return Response(status=202)


def _directive(state: AlexaState, request: Request) -> Response:
    token = _bearer(request)
    with state.lock:
        user = state.api_access_tokens.get(token)
    if user is None or state.faults.credential_state("alexa", token) is not None:
        return json_response({"code": 401, "message": "Not Authorized."}, 401)
    body = request.get_json(silent=True)
    header = body.get("header") if isinstance(body, dict) else None
    directive = body.get("directive") if isinstance(body, dict) else None
    if (
        not isinstance(header, dict)
        or not header.get("requestId")
        or not isinstance(directive, dict)
        or directive.get("type") != "VoicePlayer.Speak"
        or not directive.get("speech")
    ):
        return json_response({"code": 400, "message": "Directive not valid."}, 400)
    rid = str(header["requestId"])
    with state.lock:
        n = state._progressive.get(rid, 0)
        if n >= MAX_PROGRESSIVE:
            return json_response(
                {"code": 403, "message": "The skill is not allowed to send directives at the moment."}, 403
            )
        state._progressive[rid] = n + 1
    state._record("directive", user=user, request_id=rid, speech=directive["speech"], body=body)
    return Response(status=204)


def _skill_message(state: AlexaState, request: Request, user_id: str) -> Response:
    if not _lwa_ok(state, request, "alexa:skill_messaging"):
        return json_response({"code": "INVALID_ACCESS_TOKEN", "message": "Token is invalid or expired."}, 403)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return json_response({"code": "INVALID_REQUEST", "message": "data must be an object."}, 400)
    state._record("skill_message", user=user_id, body=body)
    return Response(status=202)
