""" "Set up my store" arrives as the same Command (intent + params) from Alexa, Google and Siri.

Each channel runs end to end through its adapter's ``handle`` with real verification: a signed Alexa request
(test CA, certificate over local HTTP), a Google JWT checked against certs over local HTTP, a Siri bearer
token. The reference is what the text parser gives for the same words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat import nlu
from core.commands import AuthLevel, Channel, Command, Principal, Reply, ResponseType
from core.errors import AuthenticationRequired
from tests.voice_testkit import (
    GOOGLE_KID,
    GOOGLE_PROJECT,
    SKILL_ID,
    alexa_envelope,
    er_slot,
    google_key_and_cert,
    google_token,
    local_server,
    make_pki,
    pem,
    signed,
)
from voice.alexa import build_alexa_adapter
from voice.google_assistant import GoogleAssistantAdapter, google_auth_verifier
from voice.siri_shortcuts import SiriShortcutsAdapter

PHRASES = ("set up my store", "set up my woocommerce store", "connect stripe", "show me my best sellers")


def text_parser(text: str, locale: str) -> tuple[str, dict[str, Any]]:
    """The chat widget's own parser (the embedded rule NLU): the reference every voice channel must match."""
    result = nlu.parse(text, locale=locale)
    return result.intent, dict(result.params)


class Bus:
    def __init__(self) -> None:
        self.commands: list[Command] = []

    def __call__(self, command: Command) -> Reply:
        self.commands.append(command)
        return Reply(
            text="I'm setting up your store now. I'll text you when it's done.",
            response_type=ResponseType.ACTION_STARTED,
            run_id="run_abc",
            status_url="https://omniops.example.com/v1/runs/run_abc",
        )


def resolver(token: str | None) -> Principal:
    if token == "owner-token":
        return Principal(owner_id="own_1", auth=AuthLevel.LINKED)
    raise AuthenticationRequired("unknown token")


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pki = make_pki()
    gkey, gcert = google_key_and_cert()
    bundle = Path(tmp_path_factory.mktemp("ca")) / "ca.pem"
    bundle.write_bytes(pem(pki.root.cert))
    with local_server() as srv:
        srv.route("GET", "/echo.api/echo-api-cert-test.pem", 200, pki.chain_pem)
        srv.route("GET", "/certs", 200, {GOOGLE_KID: gcert.decode()})
        yield {
            "alexa": build_alexa_adapter(
                skill_id=SKILL_ID, ca_bundle=bundle, cert_mirror=srv.base_url, progressive=False
            ),
            "alexa_key": pki.leaf.key,
            "google": GoogleAssistantAdapter(
                verify_token=google_auth_verifier(project_id=GOOGLE_PROJECT, certs_url=srv.base_url + "/certs")
            ),
            "google_key": gkey,
            "siri": SiriShortcutsAdapter(text_parser=text_parser),
        }


def _alexa(rig: dict[str, Any], intent: str, params: dict[str, Any]) -> Command:
    slots = {k: er_slot(k, v, v) for k, v in params.items()}
    name = "".join(word.title() for word in intent.split("_")) + "Intent"  # as the interaction model names it
    headers, body = signed(alexa_envelope(intent=name, slots=slots, token="owner-token"), rig["alexa_key"])
    bus = Bus()
    rig["alexa"].handle(headers, body, bus_handle=bus, resolve_owner=resolver)
    return bus.commands[0]


def _google(rig: dict[str, Any], text: str, intent: str, params: dict[str, Any]) -> Command:
    tok = google_token(rig["google_key"])
    payload = {
        "handler": {"name": "omniops"},
        "intent": {
            "name": intent,
            "params": {k: {"original": v, "resolved": v} for k, v in params.items()},
            "query": text,
        },
        "session": {"id": "s1", "params": {}},
        "user": {"locale": "en-US", "params": {"bearerToken": "owner-token"}},
    }
    bus = Bus()
    rig["google"].handle(
        {"google-assistant-signature": tok}, json.dumps(payload).encode(), bus_handle=bus, resolve_owner=resolver
    )
    return bus.commands[0]


def _siri(rig: dict[str, Any], text: str) -> tuple[Command, dict[str, Any]]:
    bus = Bus()
    out = rig["siri"].handle(
        {"Authorization": "Bearer owner-token"},
        json.dumps({"text": text}).encode(),
        bus_handle=bus,
        resolve_owner=resolver,
    )
    return bus.commands[0], out


@pytest.mark.parametrize("text", PHRASES)
def test_same_command_from_every_voice_channel(rig: dict[str, Any], text: str) -> None:
    intent, params = text_parser(text, "en-US")
    alexa = _alexa(rig, intent, params)
    google = _google(rig, text, intent, params)
    siri, siri_out = _siri(rig, text)
    for cmd, channel in ((alexa, Channel.ALEXA), (google, Channel.GOOGLE), (siri, Channel.SIRI)):
        assert (cmd.intent, cmd.params) == (intent, params)
        assert cmd.channel is channel and cmd.reply_route.channel is channel
        assert cmd.principal.owner_id == "own_1"
        assert cmd.locale == "en-US"
    assert siri_out["run_id"] == "run_abc"
    assert siri_out["status_url"].endswith("/v1/runs/run_abc")
