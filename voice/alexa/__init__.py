"""Alexa custom-skill adapter: verify → parse → ``bus.handle`` → render, over plain dicts (no Flask).

The gateway blueprint reads the headers and raw body and calls :meth:`AlexaAdapter.handle`; a
``VerificationFailed`` it raises becomes HTTP 400. ``verify``, ``parse`` and ``render`` are separately
testable (``voice.alexa.verify``, ``voice.alexa.parse``, ``voice.alexa.render``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import intents
from core.commands import Command, Principal, Reply, ResponseType
from core.errors import AuthenticationRequired, OmniOpsError
from voice.alexa.clients import ProactiveEventsClient, ProgressiveResponseClient
from voice.alexa.nudge import AlexaRunNudger
from voice.alexa.parse import AlexaContext, SkillEvent, context_of, parse, skill_event
from voice.alexa.render import empty_response, render, ssml
from voice.alexa.verify import AlexaVerifier, HttpCertFetcher, load_trust_roots, validated_cert_url
from voice.i18n import translate

__all__ = [
    "AlexaAdapter",
    "AlexaContext",
    "AlexaRunNudger",
    "AlexaVerifier",
    "HttpCertFetcher",
    "ProactiveEventsClient",
    "ProgressiveResponseClient",
    "SkillEvent",
    "build_alexa_adapter",
    "context_of",
    "load_trust_roots",
    "parse",
    "render",
    "ssml",
    "validated_cert_url",
]

_LOG = logging.getLogger(__name__)

BusHandle = Callable[[Command], Reply]
ResolveOwner = Callable[[str | None], Principal]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AlexaAdapter:
    """One Alexa webhook call end to end; the view stays a few lines."""

    def __init__(
        self,
        *,
        verifier: AlexaVerifier,
        clock: Callable[[], datetime] = _utcnow,
        progressive: ProgressiveResponseClient | None = None,
        on_skill_event: Callable[[SkillEvent], None] | None = None,
    ) -> None:
        self._verifier = verifier
        self._clock = clock
        self._progressive = progressive
        self._on_skill_event = on_skill_event

    def handle(
        self,
        headers: Mapping[str, str],
        raw_body: bytes,
        *,
        bus_handle: BusHandle,
        resolve_owner: ResolveOwner,
    ) -> dict[str, Any]:
        """Verify (``VerificationFailed`` → 400), parse, run the command through the bus, render."""
        envelope = self._verifier.verify(headers, raw_body)
        ctx = context_of(envelope)
        event = skill_event(envelope)
        if event is not None:
            if self._on_skill_event is not None:
                self._on_skill_event(event)
            return empty_response()
        result = parse(envelope, principal=self._principal(ctx, resolve_owner), now=self._clock())
        if isinstance(result, Command):
            self._progress(ctx, result)
            try:
                reply = bus_handle(result)
            except OmniOpsError as err:  # still answer Alexa with speech; a bug (non-OmniOps error) stays a 500
                _LOG.warning("alexa request %s failed: %s", result.request_id, err.code)
                reply = Reply(
                    text=translate("alexa.error", result.locale),
                    response_type=ResponseType.ERROR,
                    error_code=err.code,
                    locale=result.locale,
                )
        elif isinstance(result, Reply):
            reply = result
        else:
            return result
        return render(reply, intent=ctx.intent, session_attributes=ctx.session_attributes)

    @staticmethod
    def _principal(ctx: AlexaContext, resolve_owner: ResolveOwner) -> Principal | None:
        if ctx.access_token is None:
            return None
        try:
            principal = resolve_owner(ctx.access_token)
        except AuthenticationRequired:
            return None
        if principal.external_user_id is None and ctx.user_id:
            principal = principal.model_copy(update={"external_user_id": ctx.user_id})
        return principal

    def _progress(self, ctx: AlexaContext, command: Command) -> None:
        """Say "working on it" before slow work (autonomous intents); failures never fail the request."""
        if self._progressive is None or not ctx.api_endpoint or not ctx.api_access_token:
            return
        if not intents.INTENTS[command.intent].autonomous:
            return
        try:
            self._progressive.speak(
                api_endpoint=ctx.api_endpoint,
                api_access_token=ctx.api_access_token,
                request_id=ctx.request_id,
                text=translate("alexa.progress", command.locale),
            )
        except OmniOpsError as err:
            _LOG.warning("progressive response not sent: %s", err.message)


def build_alexa_adapter(
    *,
    skill_id: str,
    ca_bundle: str | Path | None = None,
    cert_mirror: str | None = None,
    env: str = "development",
    progressive: bool = True,
    on_skill_event: Callable[[SkillEvent], None] | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> AlexaAdapter:
    """Composition helper for ``gateway/bootstrap.py`` (settings ``ALEXA_SKILL_ID``, ``ALEXA_CA_BUNDLE``,
    ``ALEXA_CERT_MIRROR``, ``ENV``); the mirror is refused in production."""
    verifier = AlexaVerifier(
        skill_id=skill_id,
        fetcher=HttpCertFetcher(cert_mirror=cert_mirror, env=env),
        trust_roots=load_trust_roots(extra_bundle=ca_bundle),
        clock=clock,
    )
    return AlexaAdapter(
        verifier=verifier,
        clock=clock,
        progressive=ProgressiveResponseClient() if progressive else None,
        on_skill_event=on_skill_event,
    )
