"""The chat widget channel adapter: chat JSON in → `Command`; `Reply` → chat JSON out. No Flask here.

The text parser is injected (`ParseText`: ``parse_text(text, locale) -> (intent, params)``), so this module
does not depend on which NLU is configured. Authentication (the session token) is verified before this
module is called; :func:`parse_message` only turns the verified session and the words into a command.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chat.sessions import WidgetSession
from core.commands import Channel, Command, Principal, Reply, ReplyRoute, ResponseType
from core.errors import MalformedRequest

log = logging.getLogger("omniops.chat.widget")

MAX_TEXT = 1000
ParseText = Callable[[str, str], "tuple[str, Mapping[str, Any]]"]
SIGN_IN_TEXT = "Please sign in to your OmniOps account to do that. I can still tell you what I can do — try 'help'."


class ChatMessageIn(BaseModel):
    """The body of ``POST /v1/chat/messages``."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")


_LOCALE_RE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")


def parse_message(
    payload: Any,
    *,
    session: WidgetSession,
    parse_text: ParseText,
    now: datetime,
    request_id: str,
    default_locale: str = "en-US",
) -> Command:
    """Validate ``{"text": str ≤ 1000 chars, "locale"?: "de-DE"}`` and build the widget command for a verified
    session.

    The message is understood and answered in its ``locale``; without one, in ``default_locale`` (the
    widget owner's locale, so a German shop's widget reads German text with the German rules). Anonymous
    visitors get a principal without an owner, so the bus only lets them ask for help. Raises
    :class:`MalformedRequest` for anything but a JSON object with a non-empty ``text``.
    """
    if not isinstance(payload, dict):
        raise MalformedRequest('Send a JSON object such as {"text": "set up my store"}.')
    try:
        message = ChatMessageIn.model_validate(payload)
    except ValidationError as err:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in err.errors()})
        detail = f"Invalid chat message: check {', '.join(fields)} (text of 1-{MAX_TEXT} characters)."
        raise MalformedRequest(detail) from None
    locale = message.locale or (default_locale if _LOCALE_RE.match(default_locale) else "en-US")
    intent, params = parse_text(message.text, locale)
    principal = Principal(
        owner_id=session.owner_id if session.logged_in else None,
        person_id=session.person_id,
        auth=session.auth,
    )
    base = {
        "channel": Channel.WIDGET,
        "principal": principal,
        "locale": locale,
        "reply_route": ReplyRoute(channel=Channel.WIDGET, to=session.session_id),
        "request_id": request_id,
        "received_at": now,
        "session_id": session.session_id,
        "text": message.text,
    }
    try:
        return Command.model_validate({**base, "intent": intent, "params": dict(params)})
    except ValidationError:
        log.info("parser output rejected by the intent registry", extra={"intent": intent})
        return Command.model_validate({**base, "intent": "unknown", "params": {}})


def parse_decision(payload: Any) -> bool:
    """The body of a consent-card decision, ``{"approve": true|false}``; MalformedRequest otherwise."""
    approve = payload.get("approve") if isinstance(payload, dict) else None
    if not isinstance(approve, bool) or set(payload) != {"approve"}:
        raise MalformedRequest('Send {"approve": true} or {"approve": false}.')
    return approve


def render(reply: Reply) -> dict[str, Any]:
    """The chat JSON the widget shows: text, type, consent card, suggestions, run link, expects_answer."""
    text = SIGN_IN_TEXT if reply.response_type is ResponseType.LINK_ACCOUNT else reply.text
    body: dict[str, Any] = {
        "text": text,
        "type": str(reply.response_type),
        "expects_answer": not reply.end_conversation,
        "suggestions": list(reply.suggestions) or (["Yes", "No"] if reply.confirm_intent else []),
        "run_id": reply.run_id,
        "status_url": reply.status_url,
        "elicit": reply.elicit_param,
        "error_code": reply.error_code,
        "locale": reply.locale,
        "consent": None,
    }
    if reply.consent is not None:
        c = reply.consent
        body["consent"] = {
            "consent_id": c.consent_id,
            "action": c.action,
            "service": c.service,
            "permissions": list(c.permissions),
            "data_access": list(c.data_access),
            "duration": c.duration,
            "tier": str(c.tier),
            "expires_at": c.expires_at.isoformat(),
            "decide_url": f"/v1/chat/consents/{c.consent_id}",
            # approve_url (the single-use link) is deliberately left out: the card decides with the session.
        }
    return body
