"""Alexa certificate URL rules (B1) and the run-finished nudge policy."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from core.commands import Channel, ReplyRoute
from core.errors import VerificationFailed
from core.events import RunEvent, RunEventKind
from voice.alexa import AlexaRunNudger, ProactiveEventsClient, validated_cert_url


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://s3.amazonaws.com/echo.api/echo-api-cert-5.pem", "/echo.api/echo-api-cert-5.pem"),
        ("HTTPS://S3.AmazonAWS.com/echo.api/echo-api-cert-5.pem", "/echo.api/echo-api-cert-5.pem"),
        ("https://s3.amazonaws.com:443/echo.api/../echo.api/x.pem", "/echo.api/x.pem"),
        ("https://s3.amazonaws.com/echo.api/./a/../x.pem", "/echo.api/x.pem"),
    ],
)
def test_valid_cert_urls(url: str, path: str) -> None:
    assert validated_cert_url(url) == path


@pytest.mark.parametrize(
    "url",
    [
        "http://s3.amazonaws.com/echo.api/echo-api-cert-5.pem",
        "https://notamazon.com/echo.api/echo-api-cert-5.pem",
        "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert-5.pem",
        "https://s3.amazonaws.com:563/echo.api/echo-api-cert-5.pem",
        "https://s3.amazonaws.com/echo.api/../x",
        "https://s3.amazonaws.com/echo.api",
        "https://user:pw@s3.amazonaws.com/echo.api/x.pem",
        "https://s3.amazonaws.com:notaport/echo.api/x.pem",
        "",
    ],
)
def test_invalid_cert_urls(url: str) -> None:
    with pytest.raises(VerificationFailed):
        validated_cert_url(url)


def _event(kind: RunEventKind) -> RunEvent:
    return RunEvent(run_id="run_1", owner_id="own_1", seq=3, kind=kind, message="m", at=datetime.now(UTC))


def _client(sent: list[httpx.Request], status: int = 202) -> ProactiveEventsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "Atc|t", "expires_in": 3600})
        return httpx.Response(status)

    return ProactiveEventsClient(
        client_id="c",
        client_secret="s",
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        token_url="https://lwa.test/token",
        api_base="https://alexa.test",
    )


def test_nudge_only_for_finished_alexa_runs_with_permission() -> None:
    sent: list[httpx.Request] = []
    granted = {"amzn1.ask.account.U1"}
    nudger = AlexaRunNudger(client=_client(sent), notifications_granted=granted.__contains__)
    alexa = ReplyRoute(channel=Channel.ALEXA, to="amzn1.ask.account.U1")
    assert nudger.run_event(_event(RunEventKind.SUCCEEDED), alexa) is True
    assert nudger.run_event(_event(RunEventKind.SUCCEEDED), ReplyRoute(channel=Channel.SMS, to="+15550100")) is False
    assert (
        nudger.run_event(_event(RunEventKind.SUCCEEDED), ReplyRoute(channel=Channel.ALEXA, to="amzn1.ask.account.U2"))
        is False
    )
    non_terminal = next(k for k in RunEventKind if not k.terminal)
    assert nudger.run_event(_event(non_terminal), alexa) is False
    events = [r for r in sent if r.url.path == "/v1/proactiveEvents/stages/development"]
    assert len(events) == 1 and b'"referenceId":"run_1-3"' in events[0].content.replace(b" ", b"")


def test_nudge_failure_is_reported_not_raised() -> None:
    nudger = AlexaRunNudger(client=_client([], status=429), notifications_granted=lambda _: True)
    assert nudger.run_event(_event(RunEventKind.FAILED), ReplyRoute(channel=Channel.ALEXA, to="u")) is False
