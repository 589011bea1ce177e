"""Each simulator is a WSGI app over a state object: drivable without sockets, and thread-safe."""

from __future__ import annotations

import threading

import httpx
from werkzeug.test import Client

from sandbox.alexa_api import AlexaState, create_alexa_app
from sandbox.server import Sandbox
from sandbox.stripe import StripeState, create_stripe_app
from sandbox.twilio import TwilioState, create_twilio_app
from sandbox.woocommerce import WooState, create_woocommerce_app


def test_factories_serve_without_a_socket() -> None:
    woo = WooState(seed=1)
    key, ck = woo.store("demo").seeded_key
    r = Client(create_woocommerce_app(woo)).get("/stores/demo/wp-json/wc/v3/products", auth=(ck, key.consumer_secret))
    assert r.status_code == 200 and r.headers["X-WP-Total"] == "47"
    st = StripeState(seed=1)
    r = Client(create_stripe_app(st)).get("/v1/payment_intents", headers={"Authorization": f"Bearer {st.secret_key}"})
    assert r.status_code == 200 and r.headers["Request-Id"].startswith("req_")
    tw = TwilioState(seed=1)
    r = Client(create_twilio_app(tw)).get(
        f"/2010-04-01/Accounts/{tw.account.sid}/Messages.json", auth=(tw.account.sid, tw.account.auth_token)
    )
    assert r.status_code == 200 and r.get_json()["messages"] == []
    al = AlexaState(seed=1)
    assert Client(create_alexa_app(al)).post("/v1/directives", json={}).status_code == 401


def test_orders_date_and_status_filters(sandbox: Sandbox, http: httpx.Client) -> None:
    key, ck = sandbox.woo.store("demo").seeded_key
    url = f"{sandbox.urls['woocommerce']}/stores/demo/wp-json/wc/v3/orders"
    orders = sorted(sandbox.woo.store("demo").orders.values(), key=lambda o: o["date_created"])
    pivot = orders[len(orders) // 2]["date_created"]
    after = http.get(url, params={"after": pivot, "per_page": 100}, auth=(ck, key.consumer_secret)).json()
    assert after and all(o["date_created"] > pivot for o in after)
    completed = http.get(url, params={"status": "completed", "per_page": 100}, auth=(ck, key.consumer_secret)).json()
    assert all(o["status"] == "completed" for o in completed)


def test_concurrent_charges_are_counted_exactly_once_each(sandbox: Sandbox) -> None:
    before = sandbox.counters().get("stripe.charges", 0)
    ids: list[str] = []
    lock = threading.Lock()

    def charge(i: int) -> None:
        with httpx.Client(timeout=30) as c:
            for j in range(2):
                r = c.post(
                    f"{sandbox.urls['stripe']}/v1/payment_intents",
                    data={
                        "amount": "1000",
                        "currency": "usd",
                        "payment_method": "pm_card_visa",
                        "confirm": "true",
                        "payment_method_types[]": "card",
                    },
                    headers={
                        "Authorization": f"Bearer {sandbox.stripe.secret_key}",
                        "Idempotency-Key": f"conc-{i}-{j}",
                    },
                )
                with lock:
                    ids.append(r.json()["id"])

    threads = [threading.Thread(target=charge, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(ids) == 16 and len(set(ids)) == 16
    assert sandbox.counters()["stripe.charges"] == before + 16
