"""The chat widget routes over real HTTP: sessions, origins, CORS, messages, consent cards, SSE, limits."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat.sessions import WidgetSigner
from gateway.app import create_app
from gateway.ratelimit import Rule
from gateway.serve import BackgroundServer
from tests.chat_support import OWNER, SECRET, ChatTestContainer, build_chat_container, run_event

SHOP = "https://shop.example"
SIGNER = WidgetSigner(secret=SECRET)


def _key(container: ChatTestContainer, *, person: str | None = OWNER.id, origins: tuple[str, ...] = (SHOP,)) -> str:
    return SIGNER.issue_key(owner_id=OWNER.id, origins=origins, person_id=person, now=container.fake_clock.now())


def _session(http: httpx.Client, key: str, origin: str = SHOP) -> dict[str, Any]:
    resp = http.post("/v1/chat/sessions", params={"key": key}, headers={"Origin": origin}, json={})
    assert resp.status_code == 201, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    return resp.json()  # type: ignore[no-any-return]


def _auth(token: str, origin: str = SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Origin": origin}


def _say(http: httpx.Client, token: str, text: str) -> dict[str, Any]:
    resp = http.post("/v1/chat/messages", json={"text": text}, headers=_auth(token))
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_session_only_from_an_allowed_origin(http: httpx.Client, container: ChatTestContainer) -> None:
    key = _key(container)
    assert _session(http, key)["logged_in"] is True
    refused = http.post("/v1/chat/sessions", params={"key": key}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert "Access-Control-Allow-Origin" not in refused.headers
    no_origin = http.post("/v1/chat/sessions", params={"key": key})
    assert no_origin.status_code == 403
    forged = http.post("/v1/chat/sessions", params={"key": key[:-3] + "AAA"}, headers={"Origin": SHOP})
    assert forged.status_code == 401 and forged.json()["code"] == "authentication_required"


def test_preflight(http: httpx.Client, container: ChatTestContainer) -> None:
    pre = {
        "Origin": SHOP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    ok = http.options("/v1/chat/sessions", params={"key": _key(container)}, headers=pre)
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    bad = http.options(
        "/v1/chat/sessions", params={"key": _key(container)}, headers={**pre, "Origin": "https://evil.example"}
    )
    assert bad.status_code == 403 and bad.headers["content-type"] == "application/problem+json"
    msg = http.options("/v1/chat/messages", headers=pre)
    assert msg.status_code == 204 and "POST" in msg.headers["Access-Control-Allow-Methods"]


def test_missing_forged_and_expired_tokens_are_401(http: httpx.Client, container: ChatTestContainer) -> None:
    token = _session(http, _key(container))["token"]
    missing = http.post("/v1/chat/messages", json={"text": "help"}, headers={"Origin": SHOP})
    assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
    forged = http.post("/v1/chat/messages", json={"text": "help"}, headers=_auth(token[:-4] + "AAAA"))
    assert forged.status_code == 401
    container.fake_clock.advance(31 * 60)
    expired = http.post("/v1/chat/messages", json={"text": "help"}, headers=_auth(token))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    events = http.get("/v1/chat/events", params={"poll": 1}, headers=_auth(token))
    assert events.status_code == 401


def test_token_is_bound_to_its_origin(http: httpx.Client, container: ChatTestContainer) -> None:
    token = _session(http, _key(container))["token"]
    resp = http.post("/v1/chat/messages", json={"text": "help"}, headers=_auth(token, "https://evil.example"))
    assert resp.status_code == 403 and "Access-Control-Allow-Origin" not in resp.headers


def test_malformed_message_is_400(http: httpx.Client, container: ChatTestContainer) -> None:
    token = _session(http, _key(container))["token"]
    resp = http.post("/v1/chat/messages", json={"text": "x" * 1001}, headers=_auth(token))
    assert resp.status_code == 400 and resp.json()["code"] == "malformed_request"


def test_round_trip_question_consent_card_and_approval(http: httpx.Client, container: ChatTestContainer) -> None:
    token = _session(http, _key(container))["token"]
    ask = _say(http, token, "set up my WooCommerce store")
    assert ask["type"] == "question" and ask["elicit"] == "store_url" and ask["expects_answer"] is True
    card = _say(http, token, "shop.example.com")
    assert card["type"] == "consent_required"
    consent = card["consent"]
    assert consent["service"] == "woocommerce" and consent["duration"] == "until revoked"
    assert consent["permissions"] and consent["data_access"]
    assert container.services.queue.enqueued == []
    decided = http.post(consent["decide_url"], json={"approve": True}, headers=_auth(token))
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["type"] == "action_started" and body["run_id"] in container.services.queue.enqueued
    again = http.post(consent["decide_url"], json={"approve": True}, headers=_auth(token))
    assert again.status_code == 409  # decided once, by the logged-in session, no cookie involved
    assert container.services.queue.enqueued == [body["run_id"]]


def test_anonymous_visitor_cannot_act_or_watch(http: httpx.Client, container: ChatTestContainer) -> None:
    token = _session(http, _key(container, person=None))["token"]
    reply = _say(http, token, "set up my WooCommerce store")
    assert reply["type"] == "link_account" and "sign in" in reply["text"].lower()
    assert _say(http, token, "help")["type"] == "query_answer"
    assert http.get("/v1/chat/events", params={"poll": 1}, headers=_auth(token)).status_code == 403
    assert http.post("/v1/chat/consents/con_1", json={"approve": True}, headers=_auth(token)).status_code == 403
    assert container.services.consents.records == {}


def _read_frames(resp: httpx.Response, count: int) -> list[dict[str, str]]:
    frames: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in resp.iter_lines():
        if line == "":
            if "data" in current:
                frames.append(current)
                if len(frames) == count:
                    return frames
            current = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        current[name] = value.lstrip(" ")
    return frames


def test_sse_delivers_events_and_resumes_after_last_event_id(http: httpx.Client, container: ChatTestContainer) -> None:
    token = _session(http, _key(container))["token"]
    stream = container.events
    stream.publish(run_event("run_9", 0, "queued", "Queued"))
    stream.publish(run_event("run_9", 1, "started", "Connecting to WooCommerce"))
    stream.publish(run_event("run_x", 0, "queued", "Someone else's run", owner_id="own_other"))
    later = threading.Timer(0.3, lambda: stream.publish(run_event("run_9", 2, "step_done", "API keys created")))
    later.start()
    with http.stream("GET", "/v1/chat/events", headers=_auth(token)) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        frames = _read_frames(resp, 3)
    assert [f["id"] for f in frames] == ["run_9:0", "run_9:1", "run_9:2"]
    assert frames[2]["event"] == "step_done" and json.loads(frames[2]["data"])["message"] == "API keys created"
    stream.publish(run_event("run_9", 3, "succeeded", "WooCommerce is connected"))
    with http.stream("GET", "/v1/chat/events", headers={**_auth(token), "Last-Event-ID": "run_9:1"}) as resp:
        resumed = _read_frames(resp, 2)
    assert [f["id"] for f in resumed] == ["run_9:2", "run_9:3"]
    polled = http.get("/v1/chat/events", params={"poll": 1, "after": "run_9:2"}, headers=_auth(token)).json()
    assert [e["id"] for e in polled["events"]] == ["run_9:3"]


def test_rate_limit_per_ip_is_429_with_retry_after(tmp_path: Path) -> None:
    container = build_chat_container(tmp_path, rules={"chat_ip": Rule(limit=2, window_seconds=60)})
    server = BackgroundServer(create_app(container=container)).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            token = _session(client, _key(container))["token"]
            codes = [
                client.post("/v1/chat/messages", json={"text": "help"}, headers=_auth(token)).status_code
                for _ in range(3)
            ]
            limited = client.post("/v1/chat/messages", json={"text": "help"}, headers=_auth(token))
        assert codes == [200, 200, 429]
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
    finally:
        server.stop()
        container.close()


def test_widget_static_files_and_demo_page(tmp_path: Path, http: httpx.Client) -> None:
    js = http.get("/v1/chat/widget.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "omniops" in js.text
    assert http.get("/v1/chat/widget.css").status_code == 200
    assert http.get("/demo").status_code == 404  # not in demo mode
    demo = build_chat_container(tmp_path / "demo", demo=True)
    client = create_app(container=demo).test_client()
    page = client.get("/demo")
    assert page.status_code == 200 and b'<script src="http://localhost/v1/chat/widget.js" data-key="owk1.' in page.data
    demo.close()


def test_openapi_lists_the_chat_and_sms_routes(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/chat/sessions",
        "/v1/chat/messages",
        "/v1/chat/events",
        "/v1/chat/consents/{consent_id}",
        "/v1/channels/twilio/sms",
        "/demo",
    ):
        assert path in paths, path
    assert paths["/v1/chat/messages"]["post"]["security"] == [{"widgetSession": []}]


@pytest.mark.parametrize("path", ["/v1/chat/messages", "/v1/chat/events"])
def test_error_responses_carry_cors_so_the_widget_can_read_them(http: httpx.Client, path: str) -> None:
    resp = http.request("POST" if path.endswith("messages") else "GET", path, headers={"Origin": SHOP})
    assert resp.status_code == 401 and resp.headers["Access-Control-Allow-Origin"] == SHOP


def test_rate_limit_per_owner_spans_sessions(tmp_path: Path) -> None:
    container = build_chat_container(tmp_path, rules={"chat_owner": Rule(limit=2, window_seconds=60)})
    client = create_app(container=container).test_client()
    key = _key(container)
    tokens = [
        client.post("/v1/chat/sessions", query_string={"key": key}, headers={"Origin": SHOP}).json["token"]
        for _ in range(2)
    ]
    codes = [
        client.post("/v1/chat/messages", json={"text": "help"}, headers=_auth(t)).status_code
        for t in (*tokens, tokens[1])
    ]
    assert codes == [200, 200, 429]
    container.close()


def test_session_key_from_body_and_junk_bodies(http: httpx.Client, container: ChatTestContainer) -> None:
    ok = http.post("/v1/chat/sessions", json={"key": _key(container)}, headers={"Origin": SHOP})
    assert ok.status_code == 201
    junk = http.post("/v1/chat/sessions", json=["not", "an", "object"], headers={"Origin": SHOP})
    assert junk.status_code == 401 and junk.headers["content-type"] == "application/problem+json"


def test_a_logged_in_session_cannot_decide_another_owners_consent(
    http: httpx.Client, container: ChatTestContainer
) -> None:
    token = _session(http, _key(container))["token"]
    _say(http, token, "set up my WooCommerce store")
    consent_id = _say(http, token, "shop.example.com")["consent"]["consent_id"]
    other = SIGNER.issue_key(owner_id="own_other", origins=(SHOP,), person_id="p2", now=container.fake_clock.now())
    intruder = _session(http, other)["token"]
    resp = http.post(f"/v1/chat/consents/{consent_id}", json={"approve": True}, headers=_auth(intruder))
    assert resp.status_code == 404 and container.services.queue.enqueued == []
