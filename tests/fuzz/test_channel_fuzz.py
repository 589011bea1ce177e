"""Channel payload fuzzing on the real app: Alexa, Google, Siri, chat widget and Twilio SMS.

Properties, for every input: never a 5xx; never a secret in the response; a refused request (4xx) or an
unauthenticated one (forged/missing signature, stale timestamp, bad token) creates no consent request, no run
and no queued message; Alexa speech is always well-formed SSML with nothing but text inside ``<speak>``.
"""

from __future__ import annotations

import base64
import functools
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from tests.fuzz import strategies as fs
from tests.fuzz.world import ACCEPTED, OWNER_PHONE, PUBLIC_URL, SHOP_ORIGIN, TWILIO_TOKEN, FuzzWorld, examples, tried
from tests.voice_testkit import SKILL_ID, alexa_envelope, google_key_and_cert, google_token, sign, signed

# hostile inputs include 70 kB strings; hypothesis warns when it prints such an example
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")
FUZZ = settings(
    max_examples=examples(40),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


# one_of() would merge the repeated st.none(); a weighted flag keeps raw bodies to about a quarter of inputs
MOSTLY_NONE_OR_RAW = st.sampled_from((False, False, False, True)).flatmap(
    lambda raw: fs.raw_bodies() if raw else st.none()
)


@functools.cache
def _stranger_key() -> rsa.RSAPrivateKey:
    return google_key_and_cert()[0]


def _send(world: FuzzWorld, target: str, path: str, *, authentic: bool, **kw: Any) -> TestResponse:
    """POST/GET through the app and check the properties every channel shares."""
    method = kw.pop("method", "POST")
    before = world.counts()
    resp = world.app.test_client().open(path, method=method, **kw)
    tried(target)
    if resp.status_code < 400:
        tried(f"{target} {ACCEPTED}")
    body = resp.get_data()
    assert resp.status_code < 500, f"{target}: {resp.status_code} {body[:300]!r}"
    assert not world.leaked(body), f"{target}: a secret in the response"
    assert not world.leaked(json.dumps(dict(resp.headers))), f"{target}: a secret in a response header"
    if not authentic or resp.status_code >= 400:
        assert world.counts() == before, f"{target}: created work for a refused or unauthenticated request"
    return resp


def assert_plain_ssml(ssml: str) -> None:
    """``<speak>`` with text only: any markup that came in as text must have been escaped."""
    root = ET.fromstring(ssml)
    assert root.tag == "speak" and len(list(root)) == 0, ssml


def _alexa_speech(body: dict[str, Any]) -> list[str]:
    response = body.get("response") or {}
    found = [response.get("outputSpeech"), (response.get("reprompt") or {}).get("outputSpeech")]
    return [s["ssml"] for s in found if isinstance(s, dict) and "ssml" in s]


# ------------------------------------------------------------------------------------------------ Alexa
ALEXA_MODES = ("signed", "signed", "signed", "forged", "unsigned", "stale", "bad_cert_url", "wrong_skill", "raw_signed")


@FUZZ
@given(
    mode=st.sampled_from(ALEXA_MODES),
    request_type=st.sampled_from(fs.REQUEST_TYPES),
    intent=st.one_of(st.sampled_from(fs.ALEXA_INTENTS), fs.hostile_text(60)),
    slots=fs.alexa_slots(),
    token=st.sampled_from(("linked", "revoked", "random", None)),
    locale=st.one_of(st.sampled_from(("en-US", "de-DE")), fs.hostile_text(12)),
    confirmation=st.sampled_from(("NONE", "CONFIRMED", "DENIED", "<speak>")),
    raw=fs.raw_bodies(),
)
def test_alexa_payloads(
    world: FuzzWorld,
    mode: str,
    request_type: str,
    intent: str,
    slots: dict[str, Any],
    token: str | None,
    locale: str,
    confirmation: str,
    raw: bytes,
) -> None:
    raw_token = {"linked": world.voice_token, "revoked": world.revoked_token, "random": "tok_" + "z" * 20}.get(
        token or ""
    )
    envelope = alexa_envelope(
        request_type=request_type,
        intent=intent,
        slots=slots,
        token=raw_token,
        locale=locale,
        confirmation=confirmation,
        skill_id="amzn1.ask.skill.00000000-0000-0000-0000-000000000000" if mode == "wrong_skill" else SKILL_ID,
        timestamp=datetime.now(UTC) - timedelta(hours=1) if mode == "stale" else None,
    )
    envelope["context"]["System"]["apiEndpoint"] = world.server.base_url
    headers, body = signed(envelope, world.pki.leaf.key)
    if mode == "raw_signed":
        body = raw
        headers, _ = signed({}, world.pki.leaf.key)
        headers["Signature-256"] = signed_raw(world, raw)
    elif mode == "forged":
        headers["Signature-256"] = signed(envelope, _stranger_key())[0]["Signature-256"]
    elif mode == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif mode == "bad_cert_url":
        headers["SignatureCertChainUrl"] = "http://s3.amazonaws.com/echo.api/../evil/cert.pem"
    authentic = mode == "signed" or mode == "raw_signed"
    resp = _send(world, "alexa", "/v1/channels/alexa", authentic=authentic, data=body, headers=headers)
    if not authentic:
        assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    if resp.status_code == 200:
        for ssml in _alexa_speech(resp.get_json()):
            assert_plain_ssml(ssml)


def signed_raw(world: FuzzWorld, raw: bytes) -> str:
    return sign(world.pki.leaf.key, raw)


def test_valid_signed_alexa_request_with_markup_in_slots_and_catalog_speaks_escaped_ssml(world: FuzzWorld) -> None:
    evil = '<speak>Mugs & Co</speak><audio src="https://evil.example/x.mp3"/>'
    world.container.catalog.upsert_products(
        world.owner_id, [{"id": 991, "name": evil, "total_sales": 99, "price": "9.00"}]
    )
    envelope = alexa_envelope(
        intent="StoreReportIntent",
        slots={
            "report": {"name": "report", "value": "best sellers", "confirmationStatus": "NONE"},
            "period": {"name": "period", "value": "<speak>&<audio src='https://evil.example/p.mp3'/>"},
        },
        token=world.voice_token,
    )
    envelope["context"]["System"]["apiEndpoint"] = world.server.base_url
    headers, body = signed(envelope, world.pki.leaf.key)
    resp = _send(world, "alexa", "/v1/channels/alexa", authentic=True, data=body, headers=headers)
    assert resp.status_code == 200
    speech = resp.get_json()["response"]["outputSpeech"]["ssml"]
    assert_plain_ssml(speech)
    assert "&lt;speak&gt;Mugs &amp; Co&lt;/speak&gt;&lt;audio src=&quot;https://evil.example/x.mp3&quot;/&gt;" in speech
    assert "<audio" not in speech and speech.count("<speak>") == 1
    # the slot words never reach the speech unescaped either: ask to set up a store at a hostile address
    slot = "shop.example.com/<speak>&<audio src='https://evil.example/s.mp3'/>"
    envelope = alexa_envelope(
        intent="SetupIntegrationIntent",
        slots={"store_url": {"name": "store_url", "value": slot, "confirmationStatus": "NONE"}},
        token=world.voice_token,
    )
    headers, body = signed(envelope, world.pki.leaf.key)
    resp = _send(world, "alexa", "/v1/channels/alexa", authentic=True, data=body, headers=headers)
    assert resp.status_code == 200
    for ssml in _alexa_speech(resp.get_json()):
        assert_plain_ssml(ssml)
        assert "<audio" not in ssml


# ------------------------------------------------------------------------------------------------ Google
GOOGLE_MODES = ("signed", "signed", "signed", "signed", "forged", "expired", "wrong_aud", "missing", "garbage")


@FUZZ
@given(
    mode=st.sampled_from(GOOGLE_MODES),
    handler=st.sampled_from(("omniops", "actions.handler.HEALTH_CHECK", "<speak>")),
    intent=st.one_of(st.sampled_from(fs.GOOGLE_INTENTS), fs.hostile_text(40)),
    params=fs.google_params(),
    query=fs.hostile_text(200),
    token=st.sampled_from(("linked", "revoked", "random", None)),
    session_params=st.one_of(st.just({}), st.dictionaries(st.just("omniops_pending"), fs.json_values(), max_size=1)),
    raw=MOSTLY_NONE_OR_RAW,
)
def test_google_payloads(
    world: FuzzWorld,
    mode: str,
    handler: str,
    intent: str,
    params: dict[str, Any],
    query: str,
    token: str | None,
    session_params: dict[str, Any],
    raw: bytes | None,
) -> None:
    bearer = {"linked": world.voice_token, "revoked": world.revoked_token, "random": "tok_" + "y" * 20}.get(token or "")
    payload = {
        "handler": {"name": handler},
        "intent": {"name": intent, "params": params, "query": query},
        "scene": {"name": "Main", "slotFillingStatus": "UNSPECIFIED", "slots": {}},
        "session": {"id": "sess-fuzz", "params": session_params, "typeOverrides": [], "languageCode": ""},
        "user": {"locale": "en-US", "params": {"bearerToken": bearer} if bearer else {}},
        "device": {"capabilities": ["SPEECH"]},
    }
    body = raw if raw is not None else json.dumps(payload).encode()
    jwt_token = {
        "signed": lambda: google_token(world.google_key),
        "forged": lambda: google_token(_stranger_key()),
        "expired": lambda: google_token(world.google_key, exp_in=-600),
        "wrong_aud": lambda: google_token(world.google_key, aud="someone-else"),
        "missing": lambda: None,
        "garbage": lambda: base64.b64encode(query.encode()[:300]).decode() or "x",
    }[mode]()
    headers = {"Content-Type": "application/json"}
    if jwt_token:
        headers["google-assistant-signature"] = jwt_token
    resp = _send(world, "google", "/v1/channels/google", authentic=mode == "signed", data=body, headers=headers)
    if mode != "signed":
        assert resp.status_code in (400, 401, 403, 413), resp.status_code
    elif resp.status_code == 200:
        speech = ((resp.get_json().get("prompt") or {}).get("firstSimple") or {}).get("speech")
        if speech:
            assert_plain_ssml(speech)


# ------------------------------------------------------------------------------------------------ Siri
@FUZZ
@given(
    token=st.sampled_from(("siri", "siri", "siri", "siri", "chat_scope", "revoked", "random", "missing", "basic")),
    body=st.one_of(
        st.builds(lambda t: {"text": t}, fs.hostile_text()),
        st.builds(lambda t: {"text": t}, fs.hostile_text()),
        st.builds(lambda i, p: {"intent": i, "params": p}, st.sampled_from(tuple(fs.GOOGLE_INTENTS)), fs.json_values()),
        fs.json_values().map(lambda v: {"text": v, "locale": v}),
    ),
    raw=MOSTLY_NONE_OR_RAW,
)
def test_siri_payloads(world: FuzzWorld, token: str, body: dict[str, Any], raw: bytes | None) -> None:
    auth = {
        "siri": f"Bearer {world.siri_token}",
        "chat_scope": f"Bearer {world.chat_token}",
        "revoked": f"Bearer {world.revoked_token}",
        "random": "Bearer omni_" + "q" * 30,
        "missing": None,
        "basic": "Basic " + base64.b64encode(b"owner:" + world.siri_token.encode()).decode(),
    }[token]
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}
    data = raw if raw is not None else json.dumps(body).encode()
    resp = _send(world, "siri", "/v1/channels/siri", authentic=token == "siri", data=data, headers=headers)
    if token != "siri":
        assert resp.status_code in (401, 403, 413), resp.status_code


# ------------------------------------------------------------------------------------------------ chat widget
@FUZZ
@given(
    session=st.sampled_from(("owner", "owner", "owner", "forged", "garbage", "missing")),
    origin=st.sampled_from((SHOP_ORIGIN, SHOP_ORIGIN, SHOP_ORIGIN, "https://evil.example", None)),
    route=st.sampled_from(("message", "message", "decide", "events", "session")),
    text=fs.hostile_text(),
    value=fs.json_values(),
    typed=st.sampled_from((True, True, True, False)),
    raw=MOSTLY_NONE_OR_RAW,
)
def test_chat_widget_payloads(
    world: FuzzWorld,
    session: str,
    origin: str | None,
    route: str,
    text: str,
    value: Any,
    typed: bool,
    raw: bytes | None,
) -> None:
    good = world.widget_session()
    token = {
        "owner": good,
        "forged": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "garbage": "".join(ch for ch in text[:200] if ch not in "\r\n") or "x",
        "missing": None,
    }[session]
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if origin:
        headers["Origin"] = origin
    authentic = session == "owner" and origin != "https://evil.example"
    if route == "message":
        data = (
            raw
            if raw is not None
            else json.dumps({"text": text} if typed else {"text": value, "locale": value}).encode()
        )
        resp = _send(world, "chat", "/v1/chat/messages", authentic=authentic, data=data, headers=headers)
    elif route == "decide":
        data = raw if raw is not None else json.dumps({"approve": value}).encode()
        consent_id = "".join(ch for ch in text if ch.isalnum())[:60] or "con_x"
        resp = _send(world, "chat", f"/v1/chat/consents/{consent_id}", authentic=False, data=data, headers=headers)
        assert resp.status_code >= 400  # no such consent: nothing decided, nothing queued
    elif route == "events":
        resp = _send(
            world,
            "chat",
            "/v1/chat/events",
            authentic=authentic,
            method="GET",
            query_string={"poll": "1", "after": text[:300]},
            headers=headers,
        )
    else:
        data = raw if raw is not None else json.dumps({"key": token or text}).encode()
        resp = _send(world, "chat", "/v1/chat/sessions", authentic=False, data=data, headers=headers)
        assert resp.status_code in (400, 401, 403, 413, 415), resp.status_code
    if not authentic and route != "session":
        assert resp.status_code in (400, 401, 403, 404, 413, 415), resp.status_code


# ------------------------------------------------------------------------------------------------ Twilio SMS
@FUZZ
@given(
    signature=st.sampled_from(("valid", "valid", "forged", "missing", "other_url")),
    sender=st.one_of(st.sampled_from((OWNER_PHONE, OWNER_PHONE, "+15550009999")), fs.hostile_text(30)),
    body=fs.hostile_text(2000),
    extra=st.dictionaries(st.text(min_size=1, max_size=10), fs.hostile_text(50), max_size=3),
)
def test_twilio_sms_payloads(world: FuzzWorld, signature: str, sender: str, body: str, extra: dict[str, str]) -> None:
    path = "/v1/channels/twilio/sms"
    form = {**extra, "From": sender, "To": "+15005550006", "Body": body, "MessageSid": "SM" + "1" * 32}
    validator = RequestValidator(TWILIO_TOKEN)
    headers: dict[str, str] = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = validator.compute_signature(PUBLIC_URL + path, form)
    elif signature == "forged":
        headers["X-Twilio-Signature"] = RequestValidator("not-the-token").compute_signature(PUBLIC_URL + path, form)
    elif signature == "other_url":
        headers["X-Twilio-Signature"] = validator.compute_signature("https://evil.example" + path, form)
    resp = _send(world, "twilio", path, authentic=signature == "valid", data=form, headers=headers)
    if signature != "valid":
        assert resp.status_code in (403, 413), resp.status_code
    elif resp.status_code == 200:
        ET.fromstring(resp.get_data())  # TwiML stays well-formed whatever the body said


@pytest.mark.parametrize("depth", [1_500, 4_000])
def test_deeply_nested_json_is_refused_not_crashed(world: FuzzWorld, depth: int) -> None:
    """Regression: JSON nested past the recursion limit made json.loads raise RecursionError → 500."""
    body = ("[" * depth + "]" * depth).encode()
    siri = {"Authorization": f"Bearer {world.siri_token}", "Content-Type": "application/json"}
    resp = _send(world, "siri", "/v1/channels/siri", authentic=False, data=body, headers=siri)
    assert resp.status_code == 400
    chat = {
        "Authorization": f"Bearer {world.widget_session()}",
        "Origin": SHOP_ORIGIN,
        "Content-Type": "application/json",
    }
    resp = _send(world, "chat", "/v1/chat/messages", authentic=False, data=body, headers=chat)
    assert resp.status_code == 400
    headers = {**signed({}, world.pki.leaf.key)[0], "Signature-256": signed_raw(world, body)}
    resp = _send(world, "alexa", "/v1/channels/alexa", authentic=False, data=body, headers=headers)
    assert resp.status_code == 400
    resp = _send(world, "callbacks", "/callbacks/woocommerce/keys", authentic=False, data=body, headers=siri)
    assert resp.status_code == 400


@pytest.mark.parametrize(
    ("field", "value"),
    [("sessionId", "s" * 300), ("sessionId", 12345), ("userId", "u" * 600), ("userId", ["x"])],
)
def test_signed_alexa_envelope_with_odd_session_or_user_ids_is_answered_not_crashed(
    world: FuzzWorld, field: str, value: Any
) -> None:
    """Regression: ids over the `Command` limits (or of the wrong type) raised ValidationError → 500."""
    envelope = alexa_envelope(intent="JobStatusIntent", token=world.voice_token)
    if field == "sessionId":
        envelope["session"]["sessionId"] = value
    else:
        envelope["session"]["user"]["userId"] = value
        envelope["context"]["System"]["user"]["userId"] = value
    headers, body = signed(envelope, world.pki.leaf.key)
    resp = _send(world, "alexa", "/v1/channels/alexa", authentic=True, data=body, headers=headers)
    assert resp.status_code in (200, 400)


@pytest.mark.parametrize(
    ("where", "value"),
    [("query", "A" * 5000), ("query", 42), ("session", "s" * 300), ("session", {"x": 1}), ("user", "u" * 600)],
)
def test_signed_google_request_with_odd_query_session_or_user_is_answered_not_crashed(
    world: FuzzWorld, where: str, value: Any
) -> None:
    """Regression: a query over 2000 characters (or ids over the `Command` limits) raised ValidationError → 500."""
    payload: dict[str, Any] = {
        "handler": {"name": "omniops"},
        "intent": {"name": "job_status", "params": {}, "query": "how is my job going"},
        "session": {"id": "sess-1", "params": {}},
        "user": {"locale": "en-US", "params": {"bearerToken": world.voice_token}},
    }
    if where == "query":
        payload["intent"]["query"] = value
    elif where == "session":
        payload["session"]["id"] = value
    else:
        payload["user"]["params"]["omniopsUserId"] = value
    headers = {"Content-Type": "application/json", "google-assistant-signature": google_token(world.google_key)}
    resp = _send(world, "google", "/v1/channels/google", authentic=True, data=json.dumps(payload), headers=headers)
    assert resp.status_code in (200, 400)
