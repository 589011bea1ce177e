"""chat/twilio_client.py against a real local HTTP server standing in for Twilio's Messages endpoint."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from chat.twilio_client import TwilioClient
from core.errors import CredentialsExpired, ProviderRejected, ProviderRetryable

SID = "AC" + "1" * 32
TOKEN = "twilio-secret-auth-token-abcdef"


class FakeTwilio:
    """Answers from a script of (status, headers, body); records what it received."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "form": form})
                status, headers, body = outer.script.pop(0) if outer.script else (201, {}, {"sid": "SMok"})
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    yield server
    server.close()


def _client(twilio: FakeTwilio, sleeps: list[float], **kw: Any) -> TwilioClient:
    return TwilioClient(
        account_sid=SID,
        auth_token=TOKEN,
        from_number="+15005550006",
        base_url=twilio.url,
        http=httpx.Client(timeout=5),
        sleep=sleeps.append,
        **kw,
    )


def test_sends_form_with_basic_auth_to_the_messages_endpoint(twilio: FakeTwilio) -> None:
    twilio.script = [(201, {}, {"sid": "SM123", "status": "queued"})]
    assert _client(twilio, []).send_sms(to="+15550001111", body="Hello & welcome") == "SM123"
    (req,) = twilio.requests
    assert req["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req["form"] == {"To": "+15550001111", "From": "+15005550006", "Body": "Hello & welcome"}
    assert req["auth"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()


def test_retries_429_honouring_retry_after(twilio: FakeTwilio, caplog: pytest.LogCaptureFixture) -> None:
    twilio.script = [
        (429, {"Retry-After": "2"}, {"code": 20429, "message": "Too Many Requests"}),
        (201, {}, {"sid": "SM2"}),
    ]
    sleeps: list[float] = []
    with caplog.at_level(logging.DEBUG):
        assert _client(twilio, sleeps).send_sms(to="+15550001111", body="secret body text") == "SM2"
    assert sleeps == [2.0] and len(twilio.requests) == 2
    assert "secret body text" not in caplog.text and TOKEN not in caplog.text


def test_retries_5xx_with_backoff_then_gives_up_retryable(twilio: FakeTwilio) -> None:
    twilio.script = [(503, {}, {"code": 20503})] * 3
    sleeps: list[float] = []
    with pytest.raises(ProviderRetryable) as info:
        _client(twilio, sleeps, max_attempts=3, backoff_seconds=0.5).send_sms(to="+15550001111", body="x")
    assert sleeps == [0.5, 1.0] and len(twilio.requests) == 3
    assert TOKEN not in str(info.value) and info.value.http_status == 503


def test_timeouts_are_retried(twilio: FakeTwilio) -> None:
    dead = TwilioClient(
        account_sid=SID,
        auth_token=TOKEN,
        from_number="+15005550006",
        base_url="http://127.0.0.1:9",
        http=httpx.Client(timeout=0.5),
        sleep=lambda s: None,
        max_attempts=2,
    )
    with pytest.raises(ProviderRetryable):
        dead.send_sms(to="+15550001111", body="x")


def test_4xx_is_rejected_at_once_and_401_is_credentials(twilio: FakeTwilio) -> None:
    twilio.script = [(400, {}, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})]
    sleeps: list[float] = []
    with pytest.raises(ProviderRejected) as info:
        _client(twilio, sleeps).send_sms(to="+15005550004", body="x")
    assert info.value.provider_code == "21610" and sleeps == [] and len(twilio.requests) == 1
    twilio.script = [(401, {}, {"code": 20003, "message": "Authenticate"})]
    with pytest.raises(CredentialsExpired):
        _client(twilio, sleeps).send_sms(to="+15550001111", body="x")


def test_repr_hides_the_token() -> None:
    client = TwilioClient(account_sid=SID, auth_token=TOKEN, from_number="+1", base_url="http://127.0.0.1:9")
    assert TOKEN not in repr(client)
    client.close()


def test_build_sms_notifier_texts_through_the_configured_twilio(twilio: FakeTwilio, tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from core.commands import Channel, ReplyRoute
    from core.ports import ConsentRecord, ConsentStatus
    from gateway.notifier import build_sms_notifier
    from gateway.settings import Settings
    from gateway.sms_optouts import MemorySmsOptOuts
    from tests.chat_support import OWNER
    from tests.fakes import DECL, FakeOwners

    owners, outs = FakeOwners({OWNER.id: OWNER}), MemorySmsOptOuts()
    assert build_sms_notifier(settings=Settings(var_dir=tmp_path), owners=owners, opt_outs=outs) is None
    settings = Settings(
        var_dir=tmp_path,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_from="+15005550006",
        twilio_base_url=twilio.url,
    )
    notifier = build_sms_notifier(settings=settings, owners=owners, opt_outs=outs)
    assert notifier is not None
    now = datetime(2026, 11, 26, tzinfo=UTC)
    consent = ConsentRecord(
        id="con_1",
        owner_id=OWNER.id,
        intent="setup_integration",
        params={},
        params_hash="h",
        declaration=DECL,
        channel=Channel.ALEXA,
        reply_route=ReplyRoute(channel=Channel.ALEXA),
        status=ConsentStatus.PENDING,
        created_at=now,
        expires_at=now,
    )
    notifier.send_consent_link(owner=OWNER, consent=consent, link="https://gw.example/consent/tok", code="123456")
    (req,) = twilio.requests
    assert req["form"]["To"] == OWNER.verified_phones[0]
    assert "https://gw.example/consent/tok" in req["form"]["Body"] and "reply YES 123456" in req["form"]["Body"]
