"""Fault controls (Python API and admin endpoint) and side-effect counters."""

from __future__ import annotations

import httpx
import pytest

from sandbox.faults import Faults
from sandbox.server import Sandbox


def _woo_products(sandbox: Sandbox) -> str:
    return f"{sandbox.urls['woocommerce']}/stores/demo/wp-json/wc/v3/products"


def _woo_auth(sandbox: Sandbox) -> tuple[str, str]:
    key, ck = sandbox.woo.store("demo").seeded_key
    return ck, key.consumer_secret


def test_rate_limit_n_times_with_retry_after_then_ok(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.faults.rate_limit("woocommerce", times=2, retry_after=7)
    codes = []
    for _ in range(3):
        r = http.get(_woo_products(sandbox), auth=_woo_auth(sandbox))
        codes.append(r.status_code)
        if r.status_code == 429:
            assert r.headers["Retry-After"] == "7"
            assert r.json()["data"]["status"] == 429
    assert codes == [429, 429, 200]


def test_error_burst_is_per_provider(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.faults.error_burst("twilio", status=503, times=1)
    assert http.get(_woo_products(sandbox), auth=_woo_auth(sandbox)).status_code == 200
    acct = sandbox.twilio.account
    url = f"{sandbox.urls['twilio']}/2010-04-01/Accounts/{acct.sid}/Messages.json"
    r = http.get(url, auth=(acct.sid, acct.auth_token))
    assert r.status_code == 503 and r.json()["status"] == 503
    assert http.get(url, auth=(acct.sid, acct.auth_token)).status_code == 200


def test_connection_reset_drops_without_response(sandbox: Sandbox) -> None:
    sandbox.faults.reset_connection("stripe")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # dropped, not timed out
        httpx.get(
            f"{sandbox.urls['stripe']}/v1/payment_intents",
            headers={"Authorization": f"Bearer {sandbox.stripe.secret_key}"},
            timeout=30,
        )
    ok = httpx.get(
        f"{sandbox.urls['stripe']}/v1/payment_intents",
        headers={"Authorization": f"Bearer {sandbox.stripe.secret_key}"},
        timeout=5,
    )
    assert ok.status_code == 200


def test_timeout_holds_then_drops(sandbox: Sandbox) -> None:
    sandbox.faults.timeout("alexa", hold=0.3)
    with pytest.raises(httpx.TimeoutException):  # a client with a shorter timeout gives up
        httpx.post(f"{sandbox.urls['alexa']}/auth/O2/token", data={}, timeout=0.05)
    sandbox.faults.timeout("alexa", hold=0.1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # a patient one sees the drop
        httpx.post(f"{sandbox.urls['alexa']}/auth/O2/token", data={}, timeout=30)


def test_path_scoped_fault_only_hits_that_path(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.faults.error_burst("woocommerce", status=500, path="/stores/demo/wp-json/wc/v3/orders")
    assert http.get(_woo_products(sandbox), auth=_woo_auth(sandbox)).status_code == 200
    orders = _woo_products(sandbox).replace("products", "orders")
    assert http.get(orders, auth=_woo_auth(sandbox)).status_code == 500
    assert http.get(orders, auth=_woo_auth(sandbox)).status_code == 200


def test_latency_is_seeded_and_within_range() -> None:
    a, b = Faults(seed=3), Faults(seed=3)
    for f in (a, b):
        f.set_latency("stripe", jitter=(0.1, 0.2))
    draws = [a.latency_for("stripe") for _ in range(5)]
    assert draws == [b.latency_for("stripe") for _ in range(5)]
    assert all(0.1 <= d <= 0.2 for d in draws)
    a.set_latency("*", fixed=0.05)
    assert a.latency_for("twilio") == 0.05
    assert a.latency_for("stripe") != 0.05  # the provider-specific setting wins


def test_admin_endpoint_faults_counters_and_reset(sandbox: Sandbox, http: httpx.Client) -> None:
    admin = f"{sandbox.base_url}/__sandbox"
    r = http.post(
        f"{admin}/faults", json={"provider": "woocommerce", "kind": "rate_limit", "times": 1, "retry_after": 3}
    )
    assert r.status_code == 201 and r.json()["pending"][0]["status"] == 429
    assert http.get(f"{admin}/faults").json()["pending"][0]["remaining"] == 1
    assert http.get(_woo_products(sandbox), auth=_woo_auth(sandbox)).status_code == 429
    assert http.get(f"{admin}/counters").json()["woocommerce.faults_injected"] >= 1
    assert http.post(f"{admin}/faults", json={"provider": "nope", "kind": "error"}).status_code == 400
    assert http.post(f"{admin}/faults", json={"provider": "stripe", "kind": "explode"}).status_code == 400
    # expire a Stripe key over the admin endpoint
    acct = sandbox.stripe.connect_account()
    key = sandbox.stripe.issue_tokens(acct)["access_token"]
    http.post(f"{admin}/faults", json={"provider": "stripe", "kind": "expire_credential", "credential": key})
    r = http.get(f"{sandbox.urls['stripe']}/v1/payment_intents", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_expired"
    assert http.post(f"{admin}/reset").json() == {"reset": True}
    assert http.get(f"{admin}/counters").json() == {}
    assert (
        http.get(f"{sandbox.urls['stripe']}/v1/payment_intents", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )


def test_counters_track_side_effects(sandbox: Sandbox, http: httpx.Client) -> None:
    before = sandbox.counters()
    sandbox.woo.store("empty").create_key(user_id=1, description="c", permissions="read")
    acct = sandbox.twilio.account
    http.post(
        f"{sandbox.urls['twilio']}/2010-04-01/Accounts/{acct.sid}/Messages.json",
        data={"To": "+15550003333", "From": acct.numbers[0], "Body": "count me"},
        auth=(acct.sid, acct.auth_token),
    )
    after = sandbox.counters()
    assert after["woocommerce.keys_created"] == before.get("woocommerce.keys_created", 0) + 1
    assert after["twilio.messages"] == before.get("twilio.messages", 0) + 1
