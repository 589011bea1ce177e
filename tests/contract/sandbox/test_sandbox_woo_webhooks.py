"""WooCommerce webhooks (provider-apis.md §1.8): headers, base64 HMAC-SHA256 signature, auto-disable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest
from sandbox_receiver import Receiver

from sandbox.server import Sandbox
from sandbox.woocommerce import StoreSpec

SLUG = "hooks"  # a store of its own, so the demo catalog other tests count stays untouched


@pytest.fixture(autouse=True)
def _hooks_store(sandbox: Sandbox) -> None:
    if SLUG not in sandbox.woo.stores:
        sandbox.woo.add_store(StoreSpec(SLUG, "Hooks Store", 10))
        sandbox.woo.set_base_url(sandbox.urls["woocommerce"])


def _api(sandbox: Sandbox, path: str) -> str:
    return f"{sandbox.urls['woocommerce']}/stores/{SLUG}/wp-json/wc/v3/{path}"


def _auth(sandbox: Sandbox) -> tuple[str, str]:
    key, ck = sandbox.woo.store(SLUG).seeded_key
    return ck, key.consumer_secret


def _register(sandbox: Sandbox, http: httpx.Client, url: str, topic: str = "product.created") -> dict[str, object]:
    r = http.post(
        _api(sandbox, "webhooks"),
        json={"name": "t", "topic": topic, "delivery_url": url, "secret": "s3cret"},
        auth=_auth(sandbox),
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_webhook_created_pings_and_delivers_signed_payload(
    sandbox: Sandbox, http: httpx.Client, receiver: Receiver
) -> None:
    before = sandbox.counters().get("woocommerce.webhooks_delivered", 0)
    hook = _register(sandbox, http, f"{receiver.url}/hooks/woo")
    assert hook["status"] == "active" and hook["resource"] == "product" and hook["event"] == "created"
    assert "secret" not in hook
    product = sandbox.woo.create_product(SLUG, {"name": "Webhook Mug", "regular_price": "9.00"})
    sandbox.woo.drain_webhooks()
    ping, delivery = receiver.wait(2)[:2]
    assert ping["body"] == f"webhook_id={hook['id']}".encode()
    headers = delivery["headers"]
    assert headers["X-Wc-Webhook-Topic"] == "product.created"
    assert headers["X-Wc-Webhook-Resource"] == "product"
    assert headers["X-Wc-Webhook-Event"] == "created"
    assert headers["X-Wc-Webhook-Id"] == str(hook["id"])
    assert headers["X-Wc-Webhook-Delivery-Id"]
    assert headers["X-Wc-Webhook-Source"] == f"{sandbox.urls['woocommerce']}/stores/{SLUG}/"
    expected = base64.b64encode(hmac.new(b"s3cret", delivery["body"], hashlib.sha256).digest()).decode()
    assert headers["X-Wc-Webhook-Signature"] == expected
    assert json.loads(delivery["body"])["id"] == product["id"]
    assert sandbox.counters()["woocommerce.webhooks_delivered"] >= before + 2
    http.delete(_api(sandbox, f"webhooks/{hook['id']}"), params={"force": "true"}, auth=_auth(sandbox))


def test_webhook_disabled_after_five_consecutive_failures(
    sandbox: Sandbox, http: httpx.Client, receiver: Receiver
) -> None:
    receiver.status = 500
    hook = _register(sandbox, http, f"{receiver.url}/failing", topic="product.updated")
    for i in range(6):
        sandbox.woo.update_product(SLUG, 3, {"name": f"Renamed {i}"})
        sandbox.woo.drain_webhooks()
    r = http.get(_api(sandbox, f"webhooks/{hook['id']}"), auth=_auth(sandbox))
    assert r.json()["status"] == "disabled"
    failed_deliveries = [d for d in sandbox.woo.deliveries() if d.webhook_id == hook["id"] and not d.ping]
    assert len(failed_deliveries) == 5  # the sixth update found the hook disabled


def test_webhook_delete_requires_force_and_list_paginates(
    sandbox: Sandbox, http: httpx.Client, receiver: Receiver
) -> None:
    hook = _register(sandbox, http, f"{receiver.url}/x", topic="order.updated")
    r = http.delete(_api(sandbox, f"webhooks/{hook['id']}"), auth=_auth(sandbox))
    assert r.status_code == 501
    assert r.json()["code"] == "woocommerce_rest_trash_not_supported"
    listing = http.get(_api(sandbox, "webhooks"), auth=_auth(sandbox))
    assert int(listing.headers["X-WP-Total"]) >= 1
    assert (
        http.delete(_api(sandbox, f"webhooks/{hook['id']}"), params={"force": "true"}, auth=_auth(sandbox)).status_code
        == 200
    )
    assert (
        http.get(_api(sandbox, f"webhooks/{hook['id']}"), auth=_auth(sandbox)).json()["code"]
        == "woocommerce_rest_webhook_invalid_id"
    )


def test_webhook_invalid_topic(sandbox: Sandbox, http: httpx.Client) -> None:
    r = http.post(
        _api(sandbox, "webhooks"),
        json={"topic": "pizza.eaten", "delivery_url": "https://example.com"},
        auth=_auth(sandbox),
    )
    assert r.status_code == 400
    assert r.json()["code"] == "woocommerce_rest_webhook_invalid_topic"
