"""Twilio Messaging contract (provider-apis.md §9) through the official ``twilio`` SDK over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from sandbox_receiver import Receiver
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox.server import Sandbox

OWNER = "+15550001111"


def sdk(sandbox: Sandbox, *, test: bool = False, token: str | None = None) -> Client:
    account = sandbox.twilio.test_account if test else sandbox.twilio.account
    client = Client(account.sid, token or account.auth_token)
    client.api.base_url = sandbox.urls["twilio"]
    return client


def test_sdk_send_fetch_and_list(sandbox: Sandbox) -> None:
    before = sandbox.counters().get("twilio.messages", 0)
    client = sdk(sandbox)
    msg = client.messages.create(to=OWNER, from_=sandbox.twilio.account.numbers[0], body="Your store is live")
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert msg.status == "queued" and msg.direction == "outbound-api" and msg.api_version == "2010-04-01"
    assert msg.account_sid == sandbox.twilio.account.sid and msg.num_segments == "1"
    assert msg.uri == f"/2010-04-01/Accounts/{sandbox.twilio.account.sid}/Messages/{msg.sid}.json"
    assert client.messages(msg.sid).fetch().body == "Your store is live"
    assert msg.sid in [m.sid for m in client.messages.list(to=OWNER)]
    assert sandbox.twilio.messages_to(OWNER)[-1]["body"] == "Your store is live"
    assert sandbox.counters()["twilio.messages"] == before + 1


def test_sdk_list_follows_next_page_uri(sandbox: Sandbox) -> None:
    client = sdk(sandbox)
    to = "+15550002222"
    for i in range(5):
        client.messages.create(to=to, from_=sandbox.twilio.account.numbers[0], body=f"m{i}")
    bodies = [m.body for m in client.messages.list(to=to, page_size=2)]
    assert sorted(bodies) == [f"m{i}" for i in range(5)]


def test_wrong_auth_token_is_20003(sandbox: Sandbox) -> None:
    with pytest.raises(TwilioRestException) as exc:
        sdk(sandbox, token="0" * 32).messages.create(to=OWNER, from_="+15017122661", body="x")
    assert exc.value.status == 401 and exc.value.code == 20003


def test_revoked_auth_token_is_20003(sandbox: Sandbox) -> None:
    sandbox.faults.revoke_credential("twilio", sandbox.twilio.account.auth_token)
    with pytest.raises(TwilioRestException) as exc:
        sdk(sandbox).messages.create(to=OWNER, from_="+15017122661", body="x")
    assert exc.value.code == 20003


def test_error_json_shape_for_invalid_to(sandbox: Sandbox, http: httpx.Client) -> None:
    acct = sandbox.twilio.account
    r = http.post(
        f"{sandbox.urls['twilio']}/2010-04-01/Accounts/{acct.sid}/Messages.json",
        data={"To": "12345", "From": acct.numbers[0], "Body": "x"},
        auth=(acct.sid, acct.auth_token),
    )
    assert r.status_code == 400
    assert r.json() == {
        "code": 21211,
        "message": "The 'To' number 12345 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


@pytest.mark.parametrize(
    ("to", "from_", "code"),
    [
        ("+15005550001", "+15005550006", 21211),
        ("+15005550004", "+15005550006", 21610),
        ("+15551234567", "+15005550001", 21212),
        ("+15551234567", "+15551112222", 21606),
    ],
)
def test_test_credentials_magic_numbers(sandbox: Sandbox, to: str, from_: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as exc:
        sdk(sandbox, test=True).messages.create(to=to, from_=from_, body="x")
    assert exc.value.code == code


def test_test_credentials_send_nothing(sandbox: Sandbox) -> None:
    msg = sdk(sandbox, test=True).messages.create(to="+15550009999", from_="+15005550006", body="magic")
    assert msg.status == "queued"
    assert sandbox.twilio.messages_to("+15550009999") == []


def test_inbound_sms_signature_validates_with_official_validator(sandbox: Sandbox, receiver: Receiver) -> None:
    url = f"{receiver.url}/sms/inbound"
    r = sandbox.twilio.send_inbound(url, OWNER, "status?")
    assert r.status_code == 200
    [req] = receiver.requests
    assert req["form"]["Body"] == "status?" and req["form"]["From"] == OWNER and req["form"]["SmsStatus"] == "received"
    validator = RequestValidator(sandbox.twilio.account.auth_token)
    assert validator.validate(url, req["form"], req["headers"]["X-Twilio-Signature"])
    assert not RequestValidator("f" * 32).validate(url, req["form"], req["headers"]["X-Twilio-Signature"])


def test_inbound_signed_for_public_url_behind_proxy(sandbox: Sandbox, receiver: Receiver) -> None:
    public = "https://omniops.example.com/sms/inbound"
    sandbox.twilio.send_inbound(f"{receiver.url}/sms/inbound", OWNER, "hi", public_url=public)
    req = receiver.wait(1)[0]
    assert RequestValidator(sandbox.twilio.account.auth_token).validate(
        public, req["form"], req["headers"]["X-Twilio-Signature"]
    )


def test_status_callback_is_signed(sandbox: Sandbox, receiver: Receiver) -> None:
    cb = f"{receiver.url}/sms/status"
    sdk(sandbox).messages.create(to=OWNER, from_=sandbox.twilio.account.numbers[0], body="cb", status_callback=cb)
    reqs = receiver.wait(2)
    assert [r["form"]["MessageStatus"] for r in reqs] == ["sent", "delivered"]
    validator = RequestValidator(sandbox.twilio.account.auth_token)
    assert all(validator.validate(cb, r["form"], r["headers"]["X-Twilio-Signature"]) for r in reqs)


def test_the_admin_phone_inbox_lists_the_texts_a_number_received() -> None:
    from sandbox.server import start_sandbox

    sandbox = start_sandbox(seed=0)
    try:
        creds = sandbox.describe()["twilio_credentials"]
        sid, token, sender = creds["account_sid"], creds["auth_token"], creds["from_numbers"][0]
        url = f"{sandbox.urls['twilio']}/2010-04-01/Accounts/{sid}/Messages.json"
        for to, body in (("+15551230000", "hello owner"), ("+15559990000", "someone else")):
            resp = httpx.post(url, data={"To": to, "From": sender, "Body": body}, auth=(sid, token))
            assert resp.status_code == 201
        inbox = httpx.get(f"{sandbox.base_url}/__sandbox/phone", params={"to": "+15551230000"}).json()
        assert [m["body"] for m in inbox["messages"]] == ["hello owner"]
        assert len(httpx.get(f"{sandbox.base_url}/__sandbox/phone").json()["messages"]) == 2
    finally:
        sandbox.stop()
