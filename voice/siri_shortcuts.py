"""Siri Shortcuts adapter ("Get Contents of URL" → ``POST /v1/channels/siri``), over plain dicts (no Flask).

Request: ``Authorization: Bearer <owner token>`` and a JSON body, either ``{"text": "set up my store"}``
(parsed by the injected text parser, the same NLU the chat uses) or ``{"intent": "setup_store",
"params": {...}}``; optional ``"locale"`` (else ``Accept-Language``, else en-US) and ``"confirm": true``.
Tokens are issued, hashed and revoked by the identity service; this module only hands the bearer token
to the injected resolver. Missing, unknown or revoked → :class:`core.errors.AuthenticationRequired` (401).

Reply (the Shortcut speaks ``speech`` and may show the rest)::

    {"speech": "...", "text": "...", "status": "action_started", "run_id": "run_…",
     "status_url": "https://…/v1/runs/run_…", "consent_hint": "...", "link": null, "end": true}

The recipe for building the Shortcut is in ``skill_manifests/siri/README.md``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from core import intents
from core.commands import AuthLevel, Channel, Command, ConfirmationStatus, Principal, Reply, ReplyRoute
from core.errors import AuthenticationRequired, InvalidParams, MalformedRequest, PayloadTooLarge
from voice import slots as vslots
from voice.i18n import translate

MAX_BODY = 8 * 1024
MAX_SPEECH = 220  # Siri reads this aloud: one or two sentences
TextParser = Callable[[str, str], tuple[str, dict[str, Any]]]
_LOCALE = re.compile(r"^([a-zA-Z]{2})(?:[-_]([a-zA-Z]{2}))?")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def bearer_token(headers: Mapping[str, str]) -> str:
    """The bearer token of ``Authorization``; raises ``AuthenticationRequired`` when absent."""
    for key, value in headers.items():
        if key.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    raise AuthenticationRequired("a Siri Shortcut token is required (Authorization: Bearer …)")


def _locale(body: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    raw = body.get("locale")
    if not isinstance(raw, str):
        raw = next((v for k, v in headers.items() if k.lower() == "accept-language"), "")
    match = _LOCALE.match(raw.strip())
    if not match:
        return "en-US"
    lang, region = match.group(1).lower(), (match.group(2) or "").upper()
    return f"{lang}-{region}" if region else {"de": "de-DE"}.get(lang, "en-US")


def _short(text: str) -> str:
    if len(text) <= MAX_SPEECH:
        return text
    cut = text[:MAX_SPEECH]
    stop = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: stop + 1] if stop > 40 else cut.rstrip() + "…"


class SiriShortcutsAdapter:
    """Bearer token → ``Command`` → ``bus.handle`` → short speakable text plus JSON fields."""

    def __init__(
        self,
        *,
        text_parser: TextParser,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._parse_text = text_parser
        self._clock = clock

    @staticmethod
    def authenticate(headers: Mapping[str, str], resolve_owner: Callable[[str | None], Principal]) -> Principal:
        """Resolve the bearer token to a principal; no owner behind it → ``AuthenticationRequired``."""
        principal = resolve_owner(bearer_token(headers))
        if principal.owner_id is None or principal.auth is AuthLevel.ANONYMOUS:
            raise AuthenticationRequired("the Siri Shortcut token is not valid or was revoked")
        return principal

    @staticmethod
    def body(raw_body: bytes) -> dict[str, Any]:
        """Parse the JSON body (at most 8 KiB)."""
        if len(raw_body) > MAX_BODY:
            raise PayloadTooLarge("request body is too large")
        try:
            body = json.loads(raw_body or b"{}")
        except (UnicodeDecodeError, ValueError) as err:
            raise MalformedRequest("request body is not JSON") from err
        if not isinstance(body, dict):
            raise MalformedRequest('body must be {"text": …} or {"intent": …, "params": …}')
        return body

    def parse(
        self,
        body: Mapping[str, Any],
        *,
        principal: Principal,
        headers: Mapping[str, str] | None = None,
    ) -> Command:
        """``{"text"}`` through the text parser, or ``{"intent", "params"}`` validated by the registry."""
        headers = headers or {}
        locale = _locale(body, headers)
        text = body.get("text")
        if isinstance(text, str) and text.strip():
            name, params = self._parse_text(text.strip()[:2000], locale)
            if name not in intents.INTENTS:
                name, params = "unknown", {}
            text_value: str | None = text.strip()[:2000]
        elif isinstance(body.get("intent"), str):
            name, params, text_value = body["intent"], body.get("params") or {}, None
            if name not in intents.INTENTS:
                raise InvalidParams(f"unknown intent {name!r}", intents=list(intents.INTENT_NAMES))
            if not isinstance(params, Mapping):
                raise MalformedRequest("params must be an object")
            try:
                intents.INTENTS[name].validate_params(params)
            except ValueError as err:
                raise InvalidParams(f"params do not fit intent {name!r}") from err
        else:
            raise MalformedRequest('body must be {"text": …} or {"intent": …, "params": …}')
        request_id = next((v for k, v in headers.items() if k.lower() == "x-request-id"), "") or uuid.uuid4().hex
        return Command(
            channel=Channel.SIRI,
            principal=principal,
            intent=name,
            params=vslots.validated_params(name, params) if text_value is not None else dict(params),
            locale=locale,
            reply_route=ReplyRoute(channel=Channel.SIRI, to=None),
            request_id=request_id[:128],
            received_at=self._clock(),
            session_id=body.get("session_id") if isinstance(body.get("session_id"), str) else None,
            confirmation=ConfirmationStatus.CONFIRMED if body.get("confirm") is True else ConfirmationStatus.NONE,
            text=text_value,
        )

    @staticmethod
    def render(reply: Reply) -> dict[str, Any]:
        """Short speakable text plus JSON fields for the Shortcut (never a consent URL in the speech)."""
        consent_hint = translate("siri.consent_hint", reply.locale) if reply.consent is not None else None
        return {
            "speech": _short(reply.spoken),
            "text": reply.text,
            "status": reply.response_type.value,
            "intent": reply.intent,
            "run_id": reply.run_id,
            "status_url": reply.status_url,
            "consent_hint": consent_hint,
            "link": reply.link,
            "end": reply.end_conversation,
            "error_code": reply.error_code,
        }

    def handle(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        *,
        bus_handle: Callable[[Command], Reply],
        resolve_owner: Callable[[str | None], Principal],
    ) -> dict[str, Any]:
        """Authenticate (401), parse, run through the bus, render."""
        principal = self.authenticate(headers, resolve_owner)
        command = self.parse(self.body(raw_body), principal=principal, headers=headers)
        return self.render(bus_handle(command))
