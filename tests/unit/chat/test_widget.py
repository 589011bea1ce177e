"""chat/widget.py and chat/sessions.py: message parsing, rendering, signed keys and session tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat.sessions import WidgetSigner, normalize_origin, snippet
from chat.widget import SIGN_IN_TEXT, parse_message, render
from core.commands import AuthLevel, Channel, ConsentPrompt, Reply, ResponseType
from core.errors import AuthenticationRequired, InputError, MalformedRequest
from tests.chat_support import SECRET, stand_in_parse

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SIGNER = WidgetSigner(secret=SECRET)


def _session(person: str | None = "own_1"):  # type: ignore[no-untyped-def]
    key = SIGNER.read_key(
        SIGNER.issue_key(owner_id="own_1", origins=["https://shop.example"], person_id=person, now=NOW)
    )
    return SIGNER.issue_session(key, origin="https://shop.example", session_id="ws_1", now=NOW)


def test_message_becomes_a_widget_command_for_a_logged_in_session() -> None:
    _, session = _session()
    cmd = parse_message(
        {"text": "  set up my WooCommerce store "}, session=session, parse_text=stand_in_parse, now=NOW, request_id="r1"
    )
    assert cmd.channel is Channel.WIDGET and cmd.intent == "setup_integration"
    assert cmd.params == {"service": "woocommerce"} and cmd.text == "set up my WooCommerce store"
    assert cmd.principal.owner_id == "own_1" and cmd.principal.auth is AuthLevel.SESSION
    assert cmd.session_id == "ws_1" and cmd.reply_route.to == "ws_1"


def test_locale_from_the_message_else_the_default_locale() -> None:
    _, session = _session()
    seen: list[str] = []

    def parse_text(text: str, locale: str) -> tuple[str, dict[str, str]]:
        seen.append(locale)
        return "help", {}

    kw = {"session": session, "parse_text": parse_text, "now": NOW, "request_id": "r1"}
    assert parse_message({"text": "Hilfe"}, **kw).locale == "en-US"  # type: ignore[arg-type]
    assert parse_message({"text": "Hilfe"}, default_locale="de-DE", **kw).locale == "de-DE"  # type: ignore[arg-type]
    english = parse_message({"text": "help", "locale": "en-GB"}, default_locale="de-DE", **kw)  # type: ignore[arg-type]
    assert english.locale == "en-GB"
    assert parse_message({"text": "Hilfe"}, default_locale="nonsense", **kw).locale == "en-US"  # type: ignore[arg-type]
    assert seen == ["en-US", "de-DE", "en-GB", "en-US"]


def test_anonymous_visitor_has_no_owner_rights() -> None:
    _, session = _session(person=None)
    cmd = parse_message(
        {"text": "show me best sellers"}, session=session, parse_text=stand_in_parse, now=NOW, request_id="r1"
    )
    assert session.auth is AuthLevel.ANONYMOUS
    assert cmd.principal.owner_id is None and cmd.principal.auth is AuthLevel.ANONYMOUS


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "hi",
        {},
        {"text": ""},
        {"text": "   "},
        {"text": 5},
        {"text": "x" * 1001},
        {"text": "hi", "admin": True},
    ],
)
def test_malformed_messages_are_refused(payload: object) -> None:
    _, session = _session()
    with pytest.raises(MalformedRequest):
        parse_message(payload, session=session, parse_text=stand_in_parse, now=NOW, request_id="r1")


def test_parser_output_the_registry_rejects_becomes_unknown() -> None:
    _, session = _session()
    cmd = parse_message(
        {"text": "x"},
        session=session,
        parse_text=lambda t, loc: ("setup_integration", {"service": "myspace"}),
        now=NOW,
        request_id="r1",
    )
    assert cmd.intent == "unknown"


def test_render_shows_the_consent_card_without_the_link_token() -> None:
    prompt = ConsentPrompt(
        consent_id="con_1",
        action="Create WooCommerce API keys",
        service="woocommerce",
        permissions=("read_write products",),
        data_access=("products", "orders"),
        duration="until revoked",
        tier="verified",
        expires_at=NOW,
        approve_url="https://gw.example/consent/secret-token",
    )
    body = render(
        Reply(
            text="Approve below",
            response_type=ResponseType.CONSENT_REQUIRED,
            consent=prompt,
            end_conversation=False,
            suggestions=("Status",),
        )
    )
    assert body["type"] == "consent_required" and body["expects_answer"] is True
    card = body["consent"]
    assert card["action"] == "Create WooCommerce API keys" and card["permissions"] == ["read_write products"]
    assert card["data_access"] == ["products", "orders"] and card["duration"] == "until revoked"
    assert card["decide_url"] == "/v1/chat/consents/con_1"
    assert "secret-token" not in str(body) and body["suggestions"] == ["Status"]


def test_render_link_account_asks_to_sign_in() -> None:
    body = render(Reply(text="Open the Alexa app", response_type=ResponseType.LINK_ACCOUNT))
    assert body["text"] == SIGN_IN_TEXT and body["consent"] is None


def test_forged_expired_and_swapped_tokens_are_refused() -> None:
    token, _ = _session()
    assert SIGNER.read_session(token, now=NOW).owner_id == "own_1"
    head, payload, mac = token.split(".")
    with pytest.raises(AuthenticationRequired):
        SIGNER.read_session(f"{head}.{payload}.{mac[:-2]}AA", now=NOW)
    with pytest.raises(AuthenticationRequired):
        WidgetSigner(secret="another-secret-entirely-1234").read_session(token, now=NOW)
    with pytest.raises(AuthenticationRequired, match="expired"):
        SIGNER.read_session(token, now=NOW + timedelta(minutes=31))
    key = SIGNER.issue_key(owner_id="own_1", origins=["https://shop.example"], now=NOW)
    with pytest.raises(AuthenticationRequired):
        SIGNER.read_session(key, now=NOW)  # a publishable key is never a session
    with pytest.raises(AuthenticationRequired):
        SIGNER.read_key(token)


def test_origins_are_normalized_and_snippet_is_one_escaped_tag() -> None:
    assert normalize_origin("HTTPS://Shop.Example:443/") == "https://shop.example"
    assert normalize_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    with pytest.raises(InputError):
        normalize_origin("javascript:alert(1)")
    tag = snippet(public_url="https://gw.example/", key='owk1.a"b')
    assert tag == '<script src="https://gw.example/v1/chat/widget.js" data-key="owk1.a&quot;b" async></script>'


@pytest.mark.parametrize("payload", [None, {}, {"approve": "yes"}, {"approve": 1}, {"approve": True, "x": 1}, [True]])
def test_malformed_decisions_are_refused(payload: object) -> None:
    from chat.widget import parse_decision

    with pytest.raises(MalformedRequest):
        parse_decision(payload)


def test_decisions_parse() -> None:
    from chat.widget import parse_decision

    assert parse_decision({"approve": True}) is True and parse_decision({"approve": False}) is False


def test_yes_no_question_offers_yes_and_no_buttons() -> None:
    body = render(
        Reply(
            text="Shall I go ahead?", response_type=ResponseType.QUESTION, confirm_intent=True, end_conversation=False
        )
    )
    assert body["suggestions"] == ["Yes", "No"] and body["expects_answer"] is True
