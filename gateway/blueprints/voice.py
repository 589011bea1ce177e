"""Voice channels: Alexa, Google Assistant and Siri Shortcuts webhooks (read → verify → parse → bus → render)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from core.errors import NotFound
from gateway.openapi import describe

bp = Blueprint("voice", __name__)


def _handle(name: str, resolve: Callable[[Any], Callable[[str | None], Any]]) -> Response:
    """read → verify → parse → bus → render, through the channel's adapter (404 when not configured)."""
    container = current_app.extensions["omniops"]
    adapter = getattr(container, name)
    if adapter is None:
        raise NotFound(f"The {name} channel is not configured on this gateway.")
    headers = cast(Mapping[str, str], request.headers)  # case-insensitive
    body = adapter.handle(
        headers, request.get_data(), bus_handle=container.bus.handle, resolve_owner=resolve(container)
    )
    return jsonify(body)


@bp.post("/v1/channels/alexa")
@describe(
    "Alexa custom skill webhook (signature, certificate chain, 150 s timestamp, skill id)",
    tags=("channels",),
    auth="alexaSignature",
    request={"type": "object"},
    responses={200: "Alexa response envelope", 400: "Verification failed", 404: "Not configured"},
)
def alexa() -> Response:
    return _handle("alexa", lambda c: c.resolve_voice_token)


@bp.post("/v1/channels/google")
@describe(
    "Google Actions Builder webhook (google-assistant-signature JWT)",
    tags=("channels",),
    auth="googleJwt",
    request={"type": "object"},
    responses={200: "Actions response", 403: "Bad JWT", 404: "Not configured"},
)
def google() -> Response:
    return _handle("google", lambda c: c.resolve_voice_token)


@bp.post("/v1/channels/siri")
@describe(
    'Siri Shortcut: {"text": …} or {"intent": …, "params": …} with an owner token',
    tags=("channels",),
    auth="ownerToken",
    request={"type": "object"},
    responses={200: "Short reply to speak, run id, status URL", 400: "Malformed", 401: "Bad token"},
)
def siri() -> Response:
    return _handle("siri", lambda c: lambda raw: c.resolve_owner_token(raw or "", "siri"))
