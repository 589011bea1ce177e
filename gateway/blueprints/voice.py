"""Voice channels: Alexa, Google Assistant and Siri Shortcuts webhooks (read → verify → parse → bus → render)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from flask import Blueprint, Response, current_app, jsonify, request

from core.errors import NotFound
from gateway.openapi import describe

bp = Blueprint("voice", __name__)


def _channel(name: str) -> tuple[Any, Any]:
    container = current_app.extensions["omniops"]
    adapter = getattr(container, name)
    if adapter is None:
        raise NotFound(f"The {name} channel is not configured on this gateway.")
    return container, adapter


def _headers() -> Mapping[str, str]:
    return cast(Mapping[str, str], request.headers)  # case-insensitive


@bp.post("/v1/channels/alexa")
@describe(
    "Alexa custom skill webhook (signature, certificate chain, 150 s timestamp, skill id)",
    tags=("channels",),
    auth="alexaSignature",
    request={"type": "object"},
    responses={200: "Alexa response envelope", 400: "Verification failed", 404: "Not configured"},
)
def alexa() -> Response:
    container, adapter = _channel("alexa")
    body = adapter.handle(
        _headers(), request.get_data(), bus_handle=container.bus.handle, resolve_owner=container.resolve_voice_token
    )
    return jsonify(body)


@bp.post("/v1/channels/google")
@describe(
    "Google Actions Builder webhook (google-assistant-signature JWT)",
    tags=("channels",),
    auth="googleJwt",
    request={"type": "object"},
    responses={200: "Actions response", 403: "Bad JWT", 404: "Not configured"},
)
def google() -> Response:
    container, adapter = _channel("google")
    body = adapter.handle(
        _headers(), request.get_data(), bus_handle=container.bus.handle, resolve_owner=container.resolve_voice_token
    )
    return jsonify(body)


@bp.post("/v1/channels/siri")
@describe(
    'Siri Shortcut: {"text": …} or {"intent": …, "params": …} with an owner token',
    tags=("channels",),
    auth="ownerToken",
    request={"type": "object"},
    responses={200: "Short reply to speak, run id, status URL", 400: "Malformed", 401: "Bad token"},
)
def siri() -> Response:
    container, adapter = _channel("siri")
    body = adapter.handle(
        _headers(),
        request.get_data(),
        bus_handle=container.bus.handle,
        resolve_owner=lambda raw: container.resolve_owner_token(raw or "", "siri"),
    )
    return jsonify(body)
