"""The common command model: what an owner asked for, from any channel, and what we answer.

`Command` is the only definition of an owner's request. Every channel adapter (Alexa, Google, Siri, the
chat widget, SMS, the CLI) builds one by keyword and hands it to the message bus; the bus answers with a
`Reply`, which each adapter renders into its own wire format.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core import intents


class Channel(StrEnum):
    ALEXA = "alexa"
    GOOGLE = "google"
    SIRI = "siri"
    WIDGET = "widget"
    SMS = "sms"
    CLI = "cli"
    API = "api"
    SCHEDULE = "schedule"


class AuthLevel(StrEnum):
    """How the principal proved who they are; consent policy depends on it."""

    ANONYMOUS = "anonymous"  # nothing proven (e.g. an unlinked Alexa user)
    LINKED = "linked"  # voice account linking access token (anyone in the room can speak)
    TOKEN = "token"  # owner API / Siri bearer token
    VERIFIED_PHONE = "verified_phone"  # SMS from the owner's verified phone, Twilio-signed
    SESSION = "session"  # a logged-in person in the widget or on our pages


class ConfirmationStatus(StrEnum):
    NONE = "none"
    CONFIRMED = "confirmed"
    DENIED = "denied"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Principal(_Frozen):
    """Who is asking. ``owner_id`` is the business; ``person_id`` the human, when known."""

    owner_id: str | None = None
    person_id: str | None = None
    auth: AuthLevel = AuthLevel.ANONYMOUS
    external_user_id: str | None = Field(default=None, max_length=512)  # e.g. Alexa userId


class ReplyRoute(_Frozen):
    """Where progress and the final result go: the channel, plus an address when it has one."""

    channel: Channel
    to: str | None = Field(default=None, max_length=512)  # phone, widget session id, callback URL …


class Command(_Frozen):
    """One owner request, channel-independent. Params are validated and normalized by the registry."""

    channel: Channel
    principal: Principal
    intent: str
    params: dict[str, Any] = Field(default_factory=dict)
    locale: str = Field(default="en-US", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    reply_route: ReplyRoute
    request_id: str = Field(min_length=1, max_length=128)
    received_at: datetime
    session_id: str | None = Field(default=None, max_length=256)
    confirmation: ConfirmationStatus = ConfirmationStatus.NONE
    text: str | None = Field(default=None, max_length=2000)  # the words, when the channel had words

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if isinstance(data, dict):
            name = data.get("intent")
            if not isinstance(name, str) or name not in intents.INTENTS:
                raise ValueError(f"unknown intent {name!r}")
            data = dict(data)
            data["params"] = intents.INTENTS[name].validate_params(data.get("params") or {})
        return data

    @property
    def spec(self) -> intents.IntentSpec:
        return intents.INTENTS[self.intent]

    @property
    def owner_id(self) -> str | None:
        return self.principal.owner_id


class ResponseType(StrEnum):
    ACTION_STARTED = "action_started"  # work queued; result comes later on the reply route
    ACTION_DONE = "action_done"
    QUERY_ANSWER = "query_answer"
    QUESTION = "question"  # we need a param or a yes/no; keep the conversation open
    CONSENT_REQUIRED = "consent_required"
    NOT_ENTITLED = "not_entitled"
    LINK_ACCOUNT = "link_account"
    ERROR = "error"
    GOODBYE = "goodbye"


class Card(_Frozen):
    title: str
    text: str


class ConsentPrompt(_Frozen):
    """The roadmap's ConsentRequest, as shown to the owner before anything runs."""

    consent_id: str
    action: str
    service: str
    permissions: tuple[str, ...]
    data_access: tuple[str, ...]
    duration: str
    tier: intents.ConsentTier
    expires_at: datetime
    approve_url: str | None = None  # never set on replies that reach shared devices' speech


class Reply(_Frozen):
    """What the bus answers; adapters render it (speech/SSML, chat JSON, TwiML, Siri text)."""

    text: str
    response_type: ResponseType
    speech: str | None = None  # plain text; adapters escape it into SSML
    reprompt: str | None = None
    card: Card | None = None
    link: str | None = None
    end_conversation: bool = True
    run_id: str | None = None
    status_url: str | None = None
    consent: ConsentPrompt | None = None
    confirm_intent: bool = False  # ask a same-channel yes (Alexa Dialog.ConfirmIntent)
    elicit_param: str | None = None  # which param the question asks for
    intent: str | None = None
    suggestions: tuple[str, ...] = ()
    error_code: str | None = None
    locale: str = "en-US"

    @property
    def spoken(self) -> str:
        return self.speech or self.text
