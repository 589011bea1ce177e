"""Google Assistant webhook: JWTs signed by a test key whose certificate is served over real local HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from core.commands import AuthLevel, Command, Principal, Reply, ResponseType
from core.errors import AuthenticationRequired
from tests.voice_testkit import (
    GOOGLE_KID,
    GOOGLE_PROJECT,
    LocalServer,
    google_key_and_cert,
    google_token,
    local_server,
)
from voice.google_assistant import GoogleAssistantAdapter, GoogleVerificationFailed, google_auth_verifier

PROJECT = GOOGLE_PROJECT
KID = GOOGLE_KID
_key_and_cert = google_key_and_cert
token = google_token


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    good, cert = google_key_and_cert()
    rogue, _ = google_key_and_cert()
    return {"good": good, "rogue": rogue, "cert": cert}


@pytest.fixture(scope="module")
def certs_server(keys: dict[str, Any]) -> Iterator[LocalServer]:
    with local_server() as srv:
        srv.route("GET", "/oauth2/v1/certs", 200, {KID: keys["cert"].decode()})
        yield srv


@pytest.fixture
def adapter(certs_server: LocalServer) -> GoogleAssistantAdapter:
    return GoogleAssistantAdapter(
        verify_token=google_auth_verifier(project_id=PROJECT, certs_url=certs_server.base_url + "/oauth2/v1/certs")
    )


def webhook(
    intent: str = "setup_store",
    params: dict[str, Any] | None = None,
    *,
    handler: str = "omniops",
    bearer: str | None = "good-token",
    session_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    user: dict[str, Any] = {
        "locale": "en-US",
        "params": {},
        "accountLinkingStatus": "LINKED",
        "verificationStatus": "VERIFIED",
    }
    if bearer:
        user["params"]["bearerToken"] = bearer
    return {
        "handler": {"name": handler},
        "intent": {"name": intent, "params": params or {}, "query": "set up my store"},
        "scene": {"name": "actions.scene.START_CONVERSATION", "slotFillingStatus": "UNSPECIFIED", "slots": {}},
        "session": {"id": "ABwppHF-session", "params": session_params or {}, "typeOverrides": [], "languageCode": ""},
        "user": user,
        "home": {"params": {}},
        "device": {"capabilities": ["SPEECH", "RICH_RESPONSE"]},
    }


def resolver(tok: str | None) -> Principal:
    if tok == "good-token":
        return Principal(owner_id="own_1", auth=AuthLevel.LINKED)
    raise AuthenticationRequired("unknown")


class Bus:
    def __init__(self, reply: Reply | None = None) -> None:
        self.commands: list[Command] = []
        self.reply = reply

    def __call__(self, command: Command) -> Reply:
        self.commands.append(command)
        return self.reply or Reply(text="Setting up your store.", response_type=ResponseType.ACTION_STARTED)


def _headers(tok: str) -> dict[str, str]:
    return {"Google-Assistant-Signature": tok, "Content-Type": "application/json", "google-actions-api-version": "3"}


def test_valid_token_runs_command_and_replies_first_simple(
    adapter: GoogleAssistantAdapter, keys: dict[str, Any]
) -> None:
    bus = Bus()
    body = json.dumps(webhook(params={"platform": {"original": "woo commerce", "resolved": "woocommerce"}})).encode()
    out = adapter.handle(_headers(token(keys["good"])), body, bus_handle=bus, resolve_owner=resolver)
    (cmd,) = bus.commands
    assert (cmd.intent, cmd.params, cmd.principal.owner_id) == ("setup_store", {"platform": "woocommerce"}, "own_1")
    assert out["prompt"]["firstSimple"] == {
        "speech": "<speak>Setting up your store.</speak>",
        "text": "Setting up your store.",
    }
    assert out["scene"]["next"]["name"] == "actions.scene.END_CONVERSATION"
    assert out["session"]["id"] == "ABwppHF-session"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda k: token(k["good"], aud="someone-else"), "wrong audience", id="wrong audience"),
        pytest.param(lambda k: token(k["good"], exp_in=-600), "expired", id="expired"),
        pytest.param(lambda k: token(k["rogue"]), "signature", id="bad signature"),
        pytest.param(lambda k: token(k["good"], iss="https://evil.example"), "issuer", id="wrong issuer"),
        pytest.param(lambda k: token(k["good"])[:-6] + "AAAAAA", "signature", id="tampered"),
        pytest.param(lambda k: "not-a-jwt", "segments", id="garbage"),
    ],
)
def test_invalid_tokens_are_403_and_reach_no_bus(
    adapter: GoogleAssistantAdapter, keys: dict[str, Any], make: Any, reason: str
) -> None:
    bus = Bus()
    with pytest.raises(GoogleVerificationFailed) as err:
        adapter.handle(_headers(make(keys)), json.dumps(webhook()).encode(), bus_handle=bus, resolve_owner=resolver)
    assert err.value.status == 403
    assert reason in f"{err.value.message} {err.value.__cause__}"
    assert bus.commands == []


def test_missing_header_is_403(adapter: GoogleAssistantAdapter) -> None:
    with pytest.raises(GoogleVerificationFailed):
        adapter.handle({}, json.dumps(webhook()).encode(), bus_handle=Bus(), resolve_owner=resolver)


def test_unreachable_certs_is_403() -> None:
    dead = GoogleAssistantAdapter(
        verify_token=google_auth_verifier(project_id=PROJECT, certs_url="http://127.0.0.1:9/certs")
    )
    with pytest.raises(GoogleVerificationFailed):
        dead.verify(_headers("x.y.z"), b"{}")


def test_health_check_is_answered_without_bus(adapter: GoogleAssistantAdapter, keys: dict[str, Any]) -> None:
    bus = Bus()
    body = json.dumps(
        webhook(intent="actions.intent.MAIN", handler="actions.handler.HEALTH_CHECK", bearer=None)
    ).encode()
    assert adapter.handle(_headers(token(keys["good"])), body, bus_handle=bus, resolve_owner=resolver) == {}
    assert bus.commands == []


def test_unlinked_user_is_asked_to_link(adapter: GoogleAssistantAdapter, keys: dict[str, Any]) -> None:
    bus = Bus()
    out = adapter.handle(
        _headers(token(keys["good"])),
        json.dumps(webhook(bearer="revoked")).encode(),
        bus_handle=bus,
        resolve_owner=resolver,
    )
    assert "link your OmniOps account" in out["prompt"]["firstSimple"]["text"]
    assert bus.commands == []


def test_multi_turn_elicitation_through_session_params(adapter: GoogleAssistantAdapter, keys: dict[str, Any]) -> None:
    ask = Reply(
        text="What is your WooCommerce store address?",
        response_type=ResponseType.QUESTION,
        end_conversation=False,
        elicit_param="store_url",
        intent="setup_integration",
    )
    bus = Bus(ask)
    first = webhook("setup_integration", {"service": {"original": "woo", "resolved": "woocommerce"}})
    out = adapter.handle(
        _headers(token(keys["good"])), json.dumps(first).encode(), bus_handle=bus, resolve_owner=resolver
    )
    assert "scene" not in out  # the conversation stays open
    pending = out["session"]["params"]["omniops_pending"]
    assert pending == {
        "intent": "setup_integration",
        "params": {"service": "woocommerce"},
        "elicit": "store_url",
        "confirm": False,
    }
    second = webhook(
        "unknown",
        {"store_url": {"original": "shop dot example dot com", "resolved": "shop dot example dot com"}},
        session_params=out["session"]["params"],
    )
    bus.reply = None
    adapter.handle(_headers(token(keys["good"])), json.dumps(second).encode(), bus_handle=bus, resolve_owner=resolver)
    assert bus.commands[-1].intent == "setup_integration"
    assert bus.commands[-1].params == {"service": "woocommerce", "store_url": "https://shop.example.com"}


def test_yes_after_confirm_question_confirms_pending_intent(
    adapter: GoogleAssistantAdapter, keys: dict[str, Any]
) -> None:
    pending = {
        "omniops_pending": {"intent": "revoke_access", "params": {"service": "stripe"}, "elicit": None, "confirm": True}
    }
    bus = Bus()
    body = webhook("actions.intent.YES", session_params=pending)
    adapter.handle(_headers(token(keys["good"])), json.dumps(body).encode(), bus_handle=bus, resolve_owner=resolver)
    assert (bus.commands[0].intent, bus.commands[0].params, bus.commands[0].confirmation.value) == (
        "revoke_access",
        {"service": "stripe"},
        "confirmed",
    )


def test_locale_follows_the_request(adapter: GoogleAssistantAdapter, keys: dict[str, Any]) -> None:
    body = webhook("actions.intent.MAIN")
    body["user"]["locale"] = "de-DE"
    out = adapter.handle(
        _headers(token(keys["good"])), json.dumps(body).encode(), bus_handle=Bus(), resolve_owner=resolver
    )
    assert out["prompt"]["firstSimple"]["text"].startswith("Willkommen")


def test_google_certs_are_fetched_once_and_cached(
    adapter: GoogleAssistantAdapter, certs_server: LocalServer, keys: dict[str, Any]
) -> None:
    before = len(certs_server.hits("/oauth2/v1/certs"))
    for _ in range(3):
        adapter.verify(_headers(token(keys["good"])), json.dumps(webhook()).encode())
    assert len(certs_server.hits("/oauth2/v1/certs")) - before == 1


def test_bus_error_is_spoken_not_a_500(adapter: GoogleAssistantAdapter, keys: dict[str, Any]) -> None:
    from core.errors import NotEntitled

    def failing(command: Command) -> Reply:
        raise NotEntitled("plan does not include voice")

    body = json.dumps(webhook()).encode()
    out = adapter.handle(_headers(token(keys["good"])), body, bus_handle=failing, resolve_owner=resolver)
    assert out["prompt"]["firstSimple"]["text"].startswith("Sorry, something went wrong")
