"""Alexa service APIs (provider-apis.md §8): LWA, Proactive Events, progressive responses — partly through
the official ask-sdk-model service clients."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.services import (
    ApiClient,
    ApiClientRequest,
    ApiClientResponse,
    ApiConfiguration,
    AuthenticationConfiguration,
)
from ask_sdk_model.services.directive import DirectiveServiceClient, Header, SendDirectiveRequest, SpeakDirective
from ask_sdk_model.services.lwa import LwaClient
from ask_sdk_model.services.service_exception import ServiceException

from sandbox.server import Sandbox


class HttpxApiClient(ApiClient):  # type: ignore[misc]
    """ask-sdk's DefaultApiClient refuses non-HTTPS endpoints, so plain-HTTP sandbox calls need this client."""

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        headers = dict(request.headers or [])
        body = request.body
        if body and "json" in headers.get("Content-type", ""):
            body = json.dumps(body)  # as DefaultApiClient does
        r = httpx.request(request.method, request.url, headers=headers, content=body, timeout=10)
        return ApiClientResponse(headers=list(r.headers.items()), body=r.text, status_code=r.status_code)


def DefaultApiClient() -> HttpxApiClient:
    return HttpxApiClient()


def _token(sandbox: Sandbox, http: httpx.Client, scope: str = "alexa::proactive_events") -> str:
    r = http.post(
        f"{sandbox.urls['alexa']}/auth/O2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.alexa.client_id,
            "client_secret": sandbox.alexa.client_secret,
            "scope": scope,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["scope"] == scope
    token: str = body["access_token"]
    return token


def _event(**over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "referenceId": str(uuid.uuid4()),
        "expiryTime": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "event": {
            "name": "AMAZON.MessageAlert.Activated",
            "payload": {
                "state": {"status": "UNREAD", "freshness": "NEW"},
                "messageGroup": {"creator": {"name": "OmniOps"}, "count": 1, "urgency": "URGENT"},
            },
        },
        "localizedAttributes": [{"locale": "en-US"}],
        "relevantAudience": {"type": "Unicast", "payload": {"user": "amzn1.ask.account.OWNER"}},
    }
    body.update(over)
    return body


def test_lwa_bad_client_and_scope(sandbox: Sandbox, http: httpx.Client) -> None:
    url = f"{sandbox.urls['alexa']}/auth/O2/token"
    r = http.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": "x",
            "client_secret": "y",
            "scope": "alexa::proactive_events",
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = http.post(
        url,
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.alexa.client_id,
            "client_secret": sandbox.alexa.client_secret,
            "scope": "profile",
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


def test_official_lwa_client_gets_token(sandbox: Sandbox) -> None:
    config = ApiConfiguration(
        serializer=DefaultSerializer(), api_client=DefaultApiClient(), api_endpoint=sandbox.urls["alexa"]
    )
    lwa = LwaClient(
        api_configuration=config,
        authentication_configuration=AuthenticationConfiguration(
            client_id=sandbox.alexa.client_id, client_secret=sandbox.alexa.client_secret
        ),
    )
    token = lwa.get_access_token_for_scope("alexa::proactive_events")
    assert token.startswith("Atc|")


def test_proactive_event_accepted_and_recorded(sandbox: Sandbox, http: httpx.Client) -> None:
    token = _token(sandbox, http)
    event = _event()
    r = http.post(
        f"{sandbox.urls['alexa']}/v1/proactiveEvents/stages/development",
        json=event,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202
    assert sandbox.alexa.sent_of("proactive_event")[-1]["body"]["referenceId"] == event["referenceId"]
    dup = http.post(
        f"{sandbox.urls['alexa']}/v1/proactiveEvents/stages/development",
        json=event,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert dup.status_code == 409


@pytest.mark.parametrize(
    "bad",
    [
        {
            "event": {
                "name": "AMAZON.MessageAlert.Activated",
                "payload": {"state": {"status": "READ"}, "messageGroup": {"creator": {"name": "x"}, "count": 1}},
            }
        },
        {"event": {"name": "AMAZON.Pizza.Ready", "payload": {}}},
        {"relevantAudience": {"type": "Unicast", "payload": {}}},
        {"localizedAttributes": []},
    ],
)
def test_proactive_event_schema_violations_are_400(sandbox: Sandbox, http: httpx.Client, bad: dict[str, Any]) -> None:
    token = _token(sandbox, http)
    r = http.post(
        f"{sandbox.urls['alexa']}/v1/proactiveEvents/stages/development",
        json=_event(**bad),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST"


def test_proactive_event_needs_lwa_token_with_scope(sandbox: Sandbox, http: httpx.Client) -> None:
    url = f"{sandbox.urls['alexa']}/v1/proactiveEvents/stages/development"
    assert http.post(url, json=_event(), headers={"Authorization": "Bearer Atc|forged"}).status_code == 403
    wrong_scope = _token(sandbox, http, scope="alexa:skill_messaging")
    assert http.post(url, json=_event(), headers={"Authorization": f"Bearer {wrong_scope}"}).status_code == 403
    token = _token(sandbox, http)
    sandbox.alexa.expire_tokens()
    assert http.post(url, json=_event(), headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_progressive_response_with_official_directive_client(sandbox: Sandbox) -> None:
    api_token = sandbox.alexa.issue_api_access_token("amzn1.ask.account.OWNER")
    config = ApiConfiguration(
        serializer=DefaultSerializer(),
        api_client=DefaultApiClient(),
        authorization_value=api_token,
        api_endpoint=sandbox.urls["alexa"],
    )
    request_id = f"amzn1.echo-api.request.{uuid.uuid4()}"
    directive = SendDirectiveRequest(
        header=Header(request_id=request_id), directive=SpeakDirective(speech="<speak>Setting up your store</speak>")
    )
    DirectiveServiceClient(config).enqueue(directive)
    [sent] = [s for s in sandbox.alexa.sent_of("directive") if s["request_id"] == request_id]
    assert sent["speech"] == "<speak>Setting up your store</speak>" and sent["user"] == "amzn1.ask.account.OWNER"
    bad = ApiConfiguration(
        serializer=DefaultSerializer(),
        api_client=DefaultApiClient(),
        authorization_value="nope",
        api_endpoint=sandbox.urls["alexa"],
    )
    with pytest.raises(ServiceException) as exc:
        DirectiveServiceClient(bad).enqueue(directive)
    assert exc.value.status_code == 401


def test_at_most_five_progressive_responses_per_request(sandbox: Sandbox, http: httpx.Client) -> None:
    token = sandbox.alexa.issue_api_access_token()
    body = {
        "header": {"requestId": "req-five"},
        "directive": {"type": "VoicePlayer.Speak", "speech": "<speak>hi</speak>"},
    }
    codes = [
        http.post(
            f"{sandbox.urls['alexa']}/v1/directives", json=body, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [204] * 5 + [403]
