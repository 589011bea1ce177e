"""Stripe contract (provider-apis.md §2), mostly through the official ``stripe`` SDK over real HTTP."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe
from sandbox_receiver import Receiver

from sandbox.server import Sandbox

VISA = {
    "amount": 2000,
    "currency": "usd",
    "payment_method": "pm_card_visa",
    "confirm": True,
    "payment_method_types": ["card"],
}


def client(sandbox: Sandbox, key: str | None = None, retries: int = 0) -> stripe.StripeClient:
    url = sandbox.urls["stripe"]
    return stripe.StripeClient(
        key or sandbox.stripe.secret_key,
        base_addresses={"api": url, "connect": url},
        client_id=sandbox.stripe.client_id,
        max_network_retries=retries,
    )


def raw_post(
    sandbox: Sandbox,
    http: httpx.Client,
    path: str,
    data: dict[str, str],
    key: str | None = None,
    idem: str | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or sandbox.stripe.secret_key}"}
    if idem:
        headers["Idempotency-Key"] = idem
    return http.post(f"{sandbox.urls['stripe']}{path}", data=data, headers=headers)


FORM = {
    "amount": "2000",
    "currency": "usd",
    "payment_method": "pm_card_visa",
    "confirm": "true",
    "payment_method_types[]": "card",
}


# ---- payment intents and refunds -------------------------------------------------------------------
def test_sdk_confirmed_payment_intent_succeeds_and_can_be_fetched(sandbox: Sandbox) -> None:
    before = sandbox.counters().get("stripe.charges", 0)
    sc = client(sandbox)
    pi = sc.v1.payment_intents.create(params=VISA)  # type: ignore[arg-type]
    assert pi.status == "succeeded" and pi.amount_received == 2000 and pi.latest_charge.startswith("ch_")
    assert pi.object == "payment_intent" and pi.livemode is False and pi.client_secret.startswith(f"{pi.id}_secret_")
    assert sc.v1.payment_intents.retrieve(pi.id).status == "succeeded"
    assert sandbox.counters()["stripe.charges"] == before + 1


def test_sdk_two_step_create_then_confirm(sandbox: Sandbox) -> None:
    sc = client(sandbox)
    pi = sc.v1.payment_intents.create(params={"amount": 1500, "currency": "usd", "payment_method_types": ["card"]})
    assert pi.status == "requires_payment_method"
    done = sc.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert done.status == "succeeded"


def test_sdk_declined_card_raises_card_error(sandbox: Sandbox) -> None:
    with pytest.raises(stripe.CardError) as exc:
        client(sandbox).v1.payment_intents.create(params={**VISA, "payment_method": "pm_card_chargeDeclined"})  # type: ignore[arg-type]
    assert exc.value.http_status == 402
    assert exc.value.code == "card_declined"
    assert exc.value.error.decline_code == "generic_decline"  # type: ignore[union-attr]
    assert exc.value.error.payment_intent["status"] == "requires_payment_method"  # type: ignore[union-attr,index]


def test_sdk_missing_amount_is_invalid_request(sandbox: Sandbox) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client(sandbox).v1.payment_intents.create(params={"currency": "usd"})  # type: ignore[typeddict-item]
    assert exc.value.code == "parameter_missing" and exc.value.param == "amount"


def test_sdk_refund_full_then_already_refunded(sandbox: Sandbox) -> None:
    sc = client(sandbox)
    pi = sc.v1.payment_intents.create(params=VISA)  # type: ignore[arg-type]
    refund = sc.v1.refunds.create(params={"payment_intent": pi.id})
    assert refund.status == "succeeded" and refund.amount == 2000 and refund.charge == pi.latest_charge
    with pytest.raises(stripe.InvalidRequestError) as exc:
        sc.v1.refunds.create(params={"payment_intent": pi.id})
    assert exc.value.code == "charge_already_refunded"


def test_missing_object_is_resource_missing_404(sandbox: Sandbox) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client(sandbox).v1.payment_intents.retrieve("pi_123")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"
    assert exc.value.user_message == "No such payment_intent: 'pi_123'"


# ---- auth ------------------------------------------------------------------------------------------
def test_no_key_invalid_key_and_expired_key(sandbox: Sandbox, http: httpx.Client) -> None:
    r = http.get(f"{sandbox.urls['stripe']}/v1/payment_intents")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["message"].startswith("You did not provide an API key.")
    assert r.headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.AuthenticationError):
        client(sandbox, "sk_test_not_a_real_key").v1.payment_intents.list()
    connected = sandbox.stripe.issue_tokens(sandbox.stripe.connect_account())["access_token"]
    sandbox.stripe.expire_key(connected)
    with pytest.raises(stripe.AuthenticationError) as exc:
        client(sandbox, connected).v1.payment_intents.list()
    assert exc.value.json_body["error"]["code"] == "api_key_expired"  # type: ignore[index]
    assert "Expired API Key provided: sk_test_" in exc.value.user_message  # type: ignore[operator]
    assert connected not in exc.value.user_message  # type: ignore[operator]


def test_restricted_key_permissions(sandbox: Sandbox) -> None:
    rk = sandbox.stripe.create_restricted_key({"payment_intents": "write"})
    restricted = client(sandbox, rk)
    pi = restricted.v1.payment_intents.create(params=VISA)  # type: ignore[arg-type]
    assert restricted.v1.payment_intents.retrieve(pi.id).id == pi.id  # write implies read
    with pytest.raises(stripe.PermissionError) as exc:
        restricted.v1.refunds.create(params={"payment_intent": pi.id})
    assert exc.value.http_status == 403
    assert "rak_refund_write" in exc.value.user_message  # type: ignore[operator]
    assert rk not in exc.value.user_message  # type: ignore[operator]


def test_basic_auth_with_key_as_username(sandbox: Sandbox, http: httpx.Client) -> None:
    r = http.get(f"{sandbox.urls['stripe']}/v1/payment_intents", auth=(sandbox.stripe.secret_key, ""))
    assert r.status_code == 200
    assert r.json()["object"] == "list" and r.json()["url"] == "/v1/payment_intents"


def test_request_id_on_every_response(sandbox: Sandbox, http: httpx.Client) -> None:
    for r in (
        http.get(f"{sandbox.urls['stripe']}/v1/nope"),
        raw_post(sandbox, http, "/v1/payment_intents", FORM),
        raw_post(sandbox, http, "/oauth/token", {"grant_type": "authorization_code", "code": "ac_x"}),
    ):
        assert r.headers["Request-Id"].startswith("req_")
    sandbox.faults.error_burst("stripe", status=503)
    assert http.get(f"{sandbox.urls['stripe']}/v1/payment_intents").headers["Request-Id"].startswith("req_")


# ---- idempotency -----------------------------------------------------------------------------------
def test_idempotent_replay_returns_same_body_with_replayed_header(sandbox: Sandbox, http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    before = sandbox.counters().get("stripe.charges", 0)
    first = raw_post(sandbox, http, "/v1/payment_intents", FORM, idem=key)
    second = raw_post(sandbox, http, "/v1/payment_intents", FORM, idem=key)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Request-Id"] != first.headers["Request-Id"]
    assert sandbox.counters()["stripe.charges"] == before + 1


def test_idempotent_replay_includes_errors(sandbox: Sandbox, http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    declined = {**FORM, "payment_method": "pm_card_chargeDeclined"}
    first = raw_post(sandbox, http, "/v1/payment_intents", declined, idem=key)
    second = raw_post(sandbox, http, "/v1/payment_intents", declined, idem=key)
    assert first.status_code == second.status_code == 402
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"


def test_validation_errors_are_not_saved(sandbox: Sandbox, http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    bad = raw_post(sandbox, http, "/v1/payment_intents", {"currency": "usd"}, idem=key)
    assert bad.status_code == 400
    good = raw_post(sandbox, http, "/v1/payment_intents", FORM, idem=key)
    assert good.status_code == 200 and "Idempotent-Replayed" not in good.headers


def test_idempotency_key_with_different_params_is_idempotency_error(sandbox: Sandbox) -> None:
    key = str(uuid.uuid4())
    sc = client(sandbox)
    sc.v1.payment_intents.create(params=VISA, options={"idempotency_key": key})  # type: ignore[arg-type]
    with pytest.raises(stripe.IdempotencyError) as exc:
        sc.v1.payment_intents.create(params={**VISA, "amount": 9999}, options={"idempotency_key": key})  # type: ignore[arg-type]
    assert exc.value.http_status == 400
    assert "same parameters" in exc.value.user_message  # type: ignore[operator]


def test_concurrent_use_of_idempotency_key_is_409(sandbox: Sandbox, http: httpx.Client) -> None:
    key = str(uuid.uuid4())
    gate = threading.Event()
    sandbox.stripe.gate = gate
    results: list[httpx.Response] = []
    try:
        worker = threading.Thread(
            target=lambda: results.append(raw_post(sandbox, http, "/v1/payment_intents", FORM, idem=key))
        )
        worker.start()
        for _ in range(500):
            rec = sandbox.stripe.idempotency.get((sandbox.stripe.platform.id, key))
            if rec is not None and rec.in_progress:
                break
            gate.wait(0.01)
        conflict = raw_post(sandbox, http, "/v1/payment_intents", FORM, idem=key)
        assert conflict.status_code == 409
        assert conflict.json()["error"]["code"] == "idempotency_key_in_use"
    finally:
        sandbox.stripe.gate = None
        gate.set()
    worker.join(10)
    assert results[0].status_code == 200
    replay = raw_post(sandbox, http, "/v1/payment_intents", FORM, idem=key)
    assert replay.json()["id"] == results[0].json()["id"]


def test_sdk_retry_after_503_charges_exactly_once(sandbox: Sandbox) -> None:
    before = sandbox.counters().get("stripe.charges", 0)
    sandbox.faults.error_burst("stripe", status=503, times=1, path="/v1/payment_intents")
    pi = client(sandbox, retries=2).v1.payment_intents.create(params=VISA)  # type: ignore[arg-type]
    assert pi.status == "succeeded"
    assert sandbox.counters()["stripe.charges"] == before + 1


# ---- Connect OAuth ---------------------------------------------------------------------------------
def _authorize(sandbox: Sandbox, http: httpx.Client, decision: str = "approve") -> dict[str, list[str]]:
    url = client(sandbox).oauth.authorize_url(
        params={"scope": "read_write", "redirect_uri": "https://app.example.com/stripe/cb", "state": "st-1"}
    )
    assert url.startswith(f"{sandbox.urls['stripe']}/oauth/authorize?")
    page = http.get(url)
    assert page.status_code == 200 and "id='approve'" in page.text
    r = http.post(url, data={"decision": decision, "business_name": "Acme"})
    assert r.status_code == 302
    return parse_qs(urlsplit(r.headers["Location"]).query)


def test_connect_oauth_code_exchange_and_connected_account(sandbox: Sandbox, http: httpx.Client) -> None:
    back = _authorize(sandbox, http)
    assert back["state"] == ["st-1"] and back["scope"] == ["read_write"]
    sc = client(sandbox)
    token = sc.oauth.token(params={"grant_type": "authorization_code", "code": back["code"][0]})
    assert token.token_type == "bearer" and token.stripe_user_id.startswith("acct_")
    assert token.access_token.startswith("sk_test_") and token.refresh_token.startswith("rt_")
    # connected account's token acts on that account; the platform key with Stripe-Account too
    pi = client(sandbox, token.access_token).v1.payment_intents.create(params=VISA)  # type: ignore[arg-type]
    seen = sc.v1.payment_intents.retrieve(pi.id, options={"stripe_account": token.stripe_user_id})
    assert seen.id == pi.id
    with pytest.raises(stripe.InvalidRequestError):
        sc.v1.payment_intents.retrieve(pi.id)  # not on the platform account
    with pytest.raises(stripe.oauth_error.InvalidGrantError):
        sc.oauth.token(params={"grant_type": "authorization_code", "code": back["code"][0]})
    assert sc.oauth.deauthorize(params={"stripe_user_id": token.stripe_user_id}).stripe_user_id == token.stripe_user_id
    with pytest.raises(stripe.AuthenticationError):
        client(sandbox, token.access_token).v1.payment_intents.list()


def test_connect_oauth_deny_and_bad_grant_shapes(sandbox: Sandbox, http: httpx.Client) -> None:
    back = _authorize(sandbox, http, decision="deny")
    assert back["error"] == ["access_denied"] and back["state"] == ["st-1"]
    r = raw_post(sandbox, http, "/oauth/token", {"grant_type": "authorization_code", "code": "ac_bogus"})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": "Authorization code does not exist: ac_bogus"}
    r = raw_post(sandbox, http, "/oauth/token", {"grant_type": "password"})
    assert r.json()["error"] == "unsupported_grant_type"
    r = http.post(f"{sandbox.urls['stripe']}/oauth/token", data={"grant_type": "authorization_code", "code": "ac_x"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


# ---- webhook endpoints -----------------------------------------------------------------------------
def test_webhook_endpoints_create_list_paginate_delete(sandbox: Sandbox) -> None:
    sc = client(sandbox)
    made = [
        sc.v1.webhook_endpoints.create(
            params={"url": f"https://app.example.com/hooks/{i}", "enabled_events": ["payment_intent.succeeded"]}
        )
        for i in range(3)
    ]
    assert made[0].secret.startswith("whsec_") and made[0].status == "enabled"
    page = sc.v1.webhook_endpoints.list(params={"limit": 2})
    assert (
        page.object == "list" and page.url == "/v1/webhook_endpoints" and len(page.data) == 2 and page.has_more is True
    )
    assert "secret" not in page.data[0]
    nxt = sc.v1.webhook_endpoints.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert nxt.data[0].id not in {d.id for d in page.data}
    deleted = sc.v1.webhook_endpoints.delete(made[0].id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        sc.v1.webhook_endpoints.retrieve(made[0].id)
    assert sandbox.counters()["stripe.webhooks_registered"] >= 3


def test_events_delivered_with_stripe_signature_verified_by_sdk(sandbox: Sandbox, receiver: Receiver) -> None:
    sc = client(sandbox)
    endpoint = sc.v1.webhook_endpoints.create(
        params={"url": f"{receiver.url}/stripe", "enabled_events": ["payment_intent.succeeded", "charge.refunded"]}
    )
    pi = sc.v1.payment_intents.create(params=VISA)  # type: ignore[arg-type]
    sc.v1.refunds.create(params={"payment_intent": pi.id})
    sandbox.stripe.events.drain()
    got = receiver.wait(2)
    events = [
        stripe.Webhook.construct_event(r["body"].decode(), r["headers"]["Stripe-Signature"], endpoint.secret)
        for r in got
    ]
    assert [e.type for e in events] == ["payment_intent.succeeded", "charge.refunded"]
    assert events[0].data.object.id == pi.id
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(got[0]["body"].decode(), got[0]["headers"]["Stripe-Signature"], "whsec_wrong")
    sc.v1.webhook_endpoints.delete(endpoint.id)


def test_deauthorization_event_reaches_connect_endpoint(sandbox: Sandbox, receiver: Receiver) -> None:
    sc = client(sandbox)
    endpoint = sc.v1.webhook_endpoints.create(
        params={
            "url": f"{receiver.url}/connect",
            "enabled_events": ["account.application.deauthorized"],
            "connect": True,
        }
    )
    acct = sandbox.stripe.connect_account()
    sandbox.stripe.issue_tokens(acct)
    sc.oauth.deauthorize(params={"stripe_user_id": acct.id})
    sandbox.stripe.events.drain()
    [req] = receiver.wait(1)
    event = stripe.Webhook.construct_event(req["body"].decode(), req["headers"]["Stripe-Signature"], endpoint.secret)
    assert event.type == "account.application.deauthorized" and event.account == acct.id
    assert event.data.object.id == sandbox.stripe.client_id
    sc.v1.webhook_endpoints.delete(endpoint.id)


def test_injected_429_is_sdk_rate_limit_error(sandbox: Sandbox) -> None:
    sandbox.faults.rate_limit("stripe", times=1, retry_after=2)
    with pytest.raises(stripe.RateLimitError) as exc:
        client(sandbox).v1.payment_intents.list()
    assert exc.value.http_status == 429
    assert exc.value.headers["Retry-After"] == "2"  # type: ignore[index]
