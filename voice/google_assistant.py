"""Google Assistant (Actions Builder / conversation webhook v3) adapter, over plain dicts (no Flask).

Google turned Conversational Actions down on 2023-06-13 (channels.md B5): Assistant no longer invokes
them. This adapter remains for the Actions Builder project in ``skill_manifests/google/`` (kept generated
so the model stays in step with the registry), for self-hosted or simulator clients that speak the same
webhook protocol, and as the second voice channel proving that channels produce the same ``Command``.

Verification: the ``google-assistant-signature`` header is a Google-signed RS256 JWT whose audience is
the Actions project id; it is checked with google-auth against Google's certificates (the certs URL is
injectable for tests) and issuer ``accounts.google.com``. Any failure raises
:class:`GoogleVerificationFailed` (HTTP 403).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import google.auth.exceptions
import google.auth.transport
import google.auth.transport.requests
import requests
from google.oauth2 import id_token

from core import intents
from core.commands import Channel, Command, ConfirmationStatus, Principal, Reply, ReplyRoute, ResponseType
from core.errors import AuthenticationRequired, ConfigurationError, Forbidden, MalformedRequest, OmniOpsError
from voice import slots as vslots
from voice.alexa.render import ssml
from voice.i18n import translate

_LOG = logging.getLogger(__name__)

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
SIGNATURE_HEADER = "google-assistant-signature"
HEALTH_CHECK = "actions.handler.HEALTH_CHECK"
WEBHOOK_HANDLER = "omniops"
PENDING = "omniops_pending"  # session param: {"intent", "params", "elicit"} while we wait for an answer
END_SCENE = "actions.scene.END_CONVERSATION"

#: Google system intents → registry intents ("MAIN" and "CANCEL" are answered by the adapter).
SYSTEM_INTENTS: Mapping[str, str] = {
    "actions.intent.YES": "confirm",
    "actions.intent.NO": "deny",
    "actions.intent.NO_MATCH_1": "unknown",
    "actions.intent.NO_MATCH_2": "unknown",
    "actions.intent.NO_MATCH_FINAL": "unknown",
    "actions.intent.NO_INPUT_FINAL": "unknown",
}


class GoogleVerificationFailed(Forbidden):
    """The ``google-assistant-signature`` JWT is missing or invalid (HTTP 403)."""

    status, code, title = 403, "google_signature_invalid", "Google Assistant signature invalid"


def _utcnow() -> datetime:
    return datetime.now(UTC)


TokenVerifier = Callable[[str], Mapping[str, Any]]


class _CachingRequest(google.auth.transport.Request):
    """A google-auth transport request that caches certificate GETs and bounds every call's timeout."""

    def __init__(self, *, ttl_seconds: float, timeout: float) -> None:
        self._inner = google.auth.transport.requests.Request(session=requests.Session())
        self._ttl = ttl_seconds
        self._timeout = timeout
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(
        self, url: Any, method: Any = "GET", body: Any = None, headers: Any = None, timeout: Any = None, **kw: Any
    ) -> Any:
        """GET ``url`` from the cache while fresh; otherwise call through with a bounded timeout."""
        now = time.monotonic()
        if method == "GET":
            with self._lock:
                hit = self._cache.get(url)
            if hit is not None and now < hit[0]:
                return hit[1]
        bounded = min(float(timeout or self._timeout), self._timeout)
        response = self._inner(url, method=method, body=body, headers=headers, timeout=bounded, **kw)
        if method == "GET" and response.status == 200:
            with self._lock:
                self._cache[url] = (now + self._ttl, response)
        return response


def google_auth_verifier(
    *,
    project_id: str,
    certs_url: str = GOOGLE_CERTS_URL,
    certs_ttl_seconds: float = 300.0,
    timeout: float = 3.0,
) -> TokenVerifier:
    """A token verifier backed by ``google.oauth2.id_token.verify_token`` (signature, aud, exp) plus issuer.

    Google's certificates are cached for ``certs_ttl_seconds``; fetches time out after ``timeout`` seconds.
    """
    if not project_id:
        raise ConfigurationError("the Google Actions project id (OMNIOPS_GOOGLE_PROJECT_ID) is required")
    request = _CachingRequest(ttl_seconds=certs_ttl_seconds, timeout=timeout)

    def verify(token: str) -> Mapping[str, Any]:
        try:
            claims = id_token.verify_token(token, request, audience=project_id, certs_url=certs_url)
        except (ValueError, google.auth.exceptions.GoogleAuthError) as err:
            raise GoogleVerificationFailed("google-assistant-signature is not valid") from err
        if claims.get("iss") not in ISSUERS:
            raise GoogleVerificationFailed("google-assistant-signature has the wrong issuer")
        return dict(claims)

    return verify


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value.strip() or None
    return None


def _bounded(value: Any, limit: int) -> str | None:
    """A string id within the `Command` limits, else None (an odd id must not turn into a 500)."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _locale(payload: Mapping[str, Any]) -> str:
    raw = _dig(payload, "user", "locale") or _dig(payload, "session", "languageCode") or "en-US"
    raw = str(raw)
    if len(raw) == 5 and raw[2] in "-_":
        return f"{raw[:2].lower()}-{raw[3:].upper()}"
    if len(raw) == 2:
        return {"de": "de-DE"}.get(raw.lower(), "en-US")
    return "en-US"


def intent_params(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Actions Builder ``intent.params`` (``{"p": {"original", "resolved"}}``) → validated registry params."""
    raw: dict[str, Any] = {}
    for key, item in (params or {}).items():
        if key not in vslots.params_of(name) or not isinstance(item, Mapping):
            continue
        stype = vslots.slot_type_for(name, key)
        resolved = item.get("resolved")
        originals = item.get("original")
        values = resolved if isinstance(resolved, list) else [resolved]
        words = originals if isinstance(originals, list) else [originals] * len(values)
        out = []
        for value, said in zip(values, words, strict=False):
            value_id = str(value) if value is not None and not stype.free_form else None
            if value_id is not None and value_id not in stype.values:
                value_id = stype.id_for_words(value_id)
            text = str(said) if said is not None else (str(value) if value is not None else None)
            out.append(vslots.param_value(name, key, value_id=value_id, words=text))
        out = [v for v in out if v not in (None, "")]
        if out:
            raw[key] = tuple(out) if stype.multiple else out[0]
    return vslots.validated_params(name, raw)


class GoogleAssistantAdapter:
    """Actions Builder webhook: verify JWT → parse → ``bus.handle`` → ``prompt.firstSimple`` response."""

    channel: ClassVar[Channel] = Channel.GOOGLE

    def __init__(
        self,
        *,
        verify_token: TokenVerifier,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._verify_token = verify_token
        self._clock = clock

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> dict[str, Any]:
        """Check the signature header and return the parsed body; raises ``GoogleVerificationFailed``."""
        token = _header(headers, SIGNATURE_HEADER)
        if token is None:
            raise GoogleVerificationFailed("google-assistant-signature header is missing")
        self._verify_token(token)
        try:
            payload = json.loads(raw_body)
        except (UnicodeDecodeError, ValueError) as err:
            raise MalformedRequest("request body is not JSON") from err
        if not isinstance(payload, dict):
            raise MalformedRequest("request body is not a webhook request")
        return payload

    def parse(self, payload: Mapping[str, Any], *, principal: Principal | None) -> Command | Reply | dict[str, Any]:
        """Webhook request → ``Command``, a channel-level ``Reply``, or ``{}`` for the health check."""
        if _dig(payload, "handler", "name") == HEALTH_CHECK:
            return {}
        locale = _locale(payload)
        intent_name = str(_dig(payload, "intent", "name") or "")
        if intent_name == "actions.intent.MAIN":
            kind = "welcome" if principal is not None and principal.owner_id else "link_account"
            return self._channel_reply(kind, locale, end=kind == "link_account")
        if intent_name == "actions.intent.CANCEL":
            return self._channel_reply("goodbye", locale, end=True)
        name = SYSTEM_INTENTS.get(intent_name) or (intent_name if intent_name in intents.INTENTS else "unknown")
        params = intent_params(name, _dig(payload, "intent", "params"))
        pending = _dig(payload, "session", "params", PENDING)
        confirmation = ConfirmationStatus.NONE
        if isinstance(pending, Mapping) and pending.get("intent") in intents.INTENTS:
            pending_name = str(pending["intent"])
            answer = intent_params(pending_name, _dig(payload, "intent", "params"))
            elicit = pending.get("elicit")
            if elicit and elicit in answer:
                name, params = pending_name, {**dict(pending.get("params") or {}), **answer}
            elif pending.get("confirm") and name in ("confirm", "deny"):
                confirmation = ConfirmationStatus.CONFIRMED if name == "confirm" else ConfirmationStatus.DENIED
                name, params = pending_name, dict(pending.get("params") or {})
        if (principal is None or principal.owner_id is None) and name != "help":
            return self._channel_reply("link_account", locale, end=True)
        session_id = _bounded(_dig(payload, "session", "id"), 256)
        user_ref = _bounded(_dig(payload, "user", "params", "omniopsUserId"), 512) or session_id
        query = _dig(payload, "intent", "query")
        return Command(
            channel=Channel.GOOGLE,
            principal=principal or Principal(),
            intent=name,
            params=vslots.validated_params(name, params),
            locale=locale,
            reply_route=ReplyRoute(channel=Channel.GOOGLE, to=user_ref),
            request_id=(session_id or "g")[:90] + ":" + uuid.uuid4().hex[:16],
            received_at=self._clock(),
            session_id=session_id,
            confirmation=confirmation,
            text=query[:2000] if isinstance(query, str) else None,
        )

    @staticmethod
    def _channel_reply(kind: str, locale: str, *, end: bool) -> Reply:
        rtype = {
            "welcome": ResponseType.QUESTION,
            "goodbye": ResponseType.GOODBYE,
            "link_account": ResponseType.LINK_ACCOUNT,
        }[kind]
        return Reply(text=translate(f"google.{kind}", locale), response_type=rtype, end_conversation=end, locale=locale)

    @staticmethod
    def render(reply: Reply, *, payload: Mapping[str, Any], command: Command | None = None) -> dict[str, Any]:
        """``Reply`` → webhook response: ``prompt.firstSimple`` (speech + text), session params for multi-turn."""
        session_id = _dig(payload, "session", "id")
        params: dict[str, Any] = {}
        keep_open = (
            not reply.end_conversation
            or reply.response_type is ResponseType.QUESTION
            or bool(reply.elicit_param)
            or reply.confirm_intent
        )
        if keep_open and reply.intent in intents.INTENTS:
            params[PENDING] = {
                "intent": reply.intent,
                "params": dict(command.params) if command is not None and command.intent == reply.intent else {},
                "elicit": reply.elicit_param,
                "confirm": reply.confirm_intent,
            }
        else:
            params[PENDING] = None
        body: dict[str, Any] = {
            "session": {"id": session_id, "params": params},
            "prompt": {"override": False, "firstSimple": {"speech": ssml(reply.spoken), "text": reply.text}},
        }
        if not keep_open:
            body["scene"] = {"name": _dig(payload, "scene", "name") or "", "next": {"name": END_SCENE}}
        return body

    def handle(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        *,
        bus_handle: Callable[[Command], Reply],
        resolve_owner: Callable[[str | None], Principal],
    ) -> dict[str, Any]:
        """Verify (403), parse, run through the bus, render. The linked token is ``user.params.bearerToken``."""
        payload = self.verify(headers, raw_body)
        token = _dig(payload, "user", "params", "bearerToken")
        principal: Principal | None = None
        if isinstance(token, str) and token:
            try:
                principal = resolve_owner(token)
            except AuthenticationRequired:
                principal = None
        result = self.parse(payload, principal=principal)
        if isinstance(result, dict):
            return result
        if isinstance(result, Reply):
            return self.render(result, payload=payload)
        command = result
        try:
            reply = bus_handle(command)
        except OmniOpsError as err:
            _LOG.warning("google request %s failed: %s", command.request_id, err.code)
            reply = Reply(
                text=translate("google.error", command.locale),
                response_type=ResponseType.ERROR,
                error_code=err.code,
                locale=command.locale,
            )
        return self.render(reply, payload=payload, command=command)


def build_google_adapter(*, project_id: str, certs_url: str = GOOGLE_CERTS_URL) -> GoogleAssistantAdapter:
    """Composition helper for ``gateway/bootstrap.py`` (setting ``GOOGLE_PROJECT_ID``)."""
    return GoogleAssistantAdapter(verify_token=google_auth_verifier(project_id=project_id, certs_url=certs_url))
