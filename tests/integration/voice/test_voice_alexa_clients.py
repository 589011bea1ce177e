"""Progressive Response and Proactive Events clients against a real local HTTP server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.commands import AuthLevel, Command, Principal, Reply, ResponseType
from core.errors import CredentialsExpired, ProviderRejected, ProviderRetryable
from tests.voice_testkit import SKILL_ID, LocalServer, alexa_envelope, local_server, make_pki, signed
from voice.alexa import AlexaAdapter, AlexaVerifier, HttpCertFetcher, ProactiveEventsClient, ProgressiveResponseClient


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as srv:
        yield srv


def test_progressive_response_posts_voice_player_speak(server: LocalServer) -> None:
    server.route("POST", "/v1/directives", 204, b"")
    ProgressiveResponseClient().speak(
        api_endpoint=server.base_url, api_access_token="api-tok", request_id="req-1", text="On it & working"
    )
    (hit,) = server.hits("/v1/directives")
    assert hit.headers["Authorization"] == "Bearer api-tok"
    assert json.loads(hit.body) == {
        "header": {"requestId": "req-1"},
        "directive": {"type": "VoicePlayer.Speak", "speech": "<speak>On it &amp; working</speak>"},
    }


@pytest.mark.parametrize(
    ("status", "error"), [(401, CredentialsExpired), (400, ProviderRejected), (503, ProviderRetryable)]
)
def test_progressive_response_errors_map_to_families(server: LocalServer, status: int, error: type[Exception]) -> None:
    server.route("POST", "/v1/directives", status, {"code": status, "message": "no"})
    with pytest.raises(error):
        ProgressiveResponseClient().speak(api_endpoint=server.base_url, api_access_token="t", request_id="r", text="x")


def test_adapter_sends_progressive_response_before_autonomous_work(server: LocalServer, tmp_path: Path) -> None:
    pki = make_pki()
    server.route("GET", "/echo.api/c.pem", 200, pki.chain_pem)
    server.route("POST", "/v1/directives", 204, b"")
    verifier = AlexaVerifier(
        skill_id=SKILL_ID, fetcher=HttpCertFetcher(cert_mirror=server.base_url), trust_roots=[pki.root.cert]
    )
    adapter = AlexaAdapter(verifier=verifier, progressive=ProgressiveResponseClient())
    env = alexa_envelope(intent="SetupStoreIntent", locale="de-DE")
    env["context"]["System"]["apiEndpoint"] = server.base_url
    headers, body = signed(env, pki.leaf.key, url="https://s3.amazonaws.com/echo.api/c.pem")
    order: list[str] = []

    def bus(cmd: Command) -> Reply:
        order.append(f"bus after {len(server.hits('/v1/directives'))} progressive")
        return Reply(text="ok", response_type=ResponseType.ACTION_STARTED)

    adapter.handle(
        headers, body, bus_handle=bus, resolve_owner=lambda t: Principal(owner_id="o", auth=AuthLevel.LINKED)
    )
    assert order == ["bus after 1 progressive"]
    speech = json.loads(server.hits("/v1/directives")[0].body)["directive"]["speech"]
    assert "kümmere" in speech  # localized to the request


def test_proactive_message_alert_with_cached_lwa_token(server: LocalServer) -> None:
    server.route(
        "POST",
        "/auth/o2/token",
        200,
        {"access_token": "Atc|xyz", "expires_in": 3600, "token_type": "bearer", "scope": "alexa::proactive_events"},
    )
    server.route("POST", "/v1/proactiveEvents/stages/development", 202, b"")
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    client = ProactiveEventsClient(
        client_id="amzn1.application-oa2-client.x",
        client_secret="s3cret",
        token_url=server.base_url + "/auth/o2/token",
        api_base=server.base_url,
        clock=lambda: now,
    )
    ref1 = client.message_alert(user_id="amzn1.ask.account.U1", reference_id="run_1")
    client.message_alert(user_id="amzn1.ask.account.U2", locales=("en-US", "de-DE"))
    assert ref1 == "run_1"
    (token_req,) = server.hits("/auth/o2/token")
    form = dict(p.split("=", 1) for p in token_req.body.decode().split("&"))
    assert form["grant_type"] == "client_credentials" and form["scope"] == "alexa%3A%3Aproactive_events"
    first, second = server.hits("/v1/proactiveEvents/stages/development")
    assert first.headers["Authorization"] == "Bearer Atc|xyz"
    event = json.loads(first.body)
    assert event["event"]["name"] == "AMAZON.MessageAlert.Activated"
    assert event["relevantAudience"] == {"type": "Unicast", "payload": {"user": "amzn1.ask.account.U1"}}
    assert event["timestamp"] == "2026-11-26T03:00:00.00Z" and event["expiryTime"] == "2026-11-26T04:00:00.00Z"
    assert [a["locale"] for a in json.loads(second.body)["localizedAttributes"]] == ["en-US", "de-DE"]
    assert "s3cret" not in repr(client)


def test_proactive_forbidden_drops_cached_token(server: LocalServer) -> None:
    server.route("POST", "/auth/o2/token", 200, {"access_token": "Atc|1", "expires_in": 3600})
    server.route("POST", "/v1/proactiveEvents", 403, {"code": "FORBIDDEN", "message": "bad token"})
    client = ProactiveEventsClient(
        client_id="c",
        client_secret="s",
        token_url=server.base_url + "/auth/o2/token",
        api_base=server.base_url,
        stage="live",
    )
    for _ in range(2):
        with pytest.raises(CredentialsExpired):
            client.message_alert(user_id="u")
    assert len(server.hits("/auth/o2/token")) == 2
