"""WooCommerce REST v3 contract, from provider-apis.md §1 (auth, errors, pagination, OAuth 1.0a)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

import httpx
import pytest
from authlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_HEADER, ClientAuth

from sandbox.server import Sandbox


def store_url(sandbox: Sandbox, slug: str) -> str:
    return f"{sandbox.urls['woocommerce']}/stores/{slug}"


def creds(sandbox: Sandbox, slug: str) -> tuple[str, str]:
    key, ck = sandbox.woo.store(slug).seeded_key
    return ck, key.consumer_secret


def api(sandbox: Sandbox, slug: str, path: str) -> str:
    return f"{store_url(sandbox, slug)}/wp-json/wc/v3/{path}"


def new_key(sandbox: Sandbox, slug: str, permissions: str) -> tuple[str, str]:
    key, ck = sandbox.woo.store(slug).create_key(user_id=1, description=f"test {permissions}", permissions=permissions)
    return ck, key.consumer_secret


# ---- authentication --------------------------------------------------------------------------------
def test_unauthenticated_list_is_woocommerce_rest_cannot_view(sandbox: Sandbox, http: httpx.Client) -> None:
    r = http.get(api(sandbox, "demo", "products"))
    assert r.status_code == 401
    assert r.json() == {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }


def test_basic_auth_known_key_wrong_secret_is_consumer_secret_invalid(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, _ = creds(sandbox, "demo")
    r = http.get(api(sandbox, "demo", "products"), auth=(ck, "cs_wrong"))
    assert r.status_code == 401
    assert r.json()["code"] == "woocommerce_rest_authentication_error"
    assert r.json()["message"] == "Consumer secret is invalid."
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')


def test_basic_auth_unknown_key_proceeds_unauthenticated(sandbox: Sandbox, http: httpx.Client) -> None:
    r = http.get(api(sandbox, "demo", "products"), auth=("ck_" + "0" * 40, "cs_" + "0" * 40))
    assert r.status_code == 401
    assert r.json()["code"] == "woocommerce_rest_cannot_view"


def test_basic_and_query_string_keys_authenticate(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "demo")
    assert http.get(api(sandbox, "demo", "products"), auth=(ck, cs)).status_code == 200
    r = http.get(api(sandbox, "demo", "products"), params={"consumer_key": ck, "consumer_secret": cs})
    assert r.status_code == 200
    assert len(r.json()) == 10


def test_plain_http_store_ignores_basic_auth(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "plain")
    r = http.get(api(sandbox, "plain", "products"), auth=(ck, cs))
    assert r.status_code == 401
    assert r.json()["code"] == "woocommerce_rest_cannot_view"
    # X-Forwarded-Proto: https makes is_ssl() true, as behind a TLS-terminating proxy
    assert (
        http.get(api(sandbox, "plain", "products"), auth=(ck, cs), headers={"X-Forwarded-Proto": "https"}).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("permissions", "method", "message"),
    [
        ("read", "POST", "The API key provided does not have write permissions."),
        ("write", "GET", "The API key provided does not have read permissions."),
    ],
)
def test_key_permissions_are_enforced(
    sandbox: Sandbox, http: httpx.Client, permissions: str, method: str, message: str
) -> None:
    ck, cs = new_key(sandbox, "demo", permissions)
    r = http.request(method, api(sandbox, "demo", "products"), auth=(ck, cs), json={"name": "Nope"})
    assert r.status_code == 401
    assert r.json() == {"code": "woocommerce_rest_authentication_error", "message": message, "data": {"status": 401}}


def test_revoked_key_no_longer_authenticates(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = new_key(sandbox, "demo", "read_write")
    assert http.get(api(sandbox, "demo", "system_status"), auth=(ck, cs)).status_code == 200
    sandbox.faults.revoke_credential("woocommerce", ck)
    assert (
        http.get(api(sandbox, "demo", "system_status"), auth=(ck, cs)).json()["code"] == "woocommerce_rest_cannot_view"
    )


# ---- OAuth 1.0a ------------------------------------------------------------------------------------
def _enc(s: str) -> str:
    return quote(s, safe="~")


def oauth_params(
    url: str,
    method: str,
    ck: str,
    cs: str,
    *,
    sig_method: str = "HMAC-SHA1",
    extra: dict[str, str] | None = None,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """One-legged OAuth 1.0a query parameters, signed as the WooCommerce docs describe."""
    params = {
        "oauth_consumer_key": ck,
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": sig_method,
        "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
        **(extra or {}),
    }
    pairs = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))
    base = f"{method}&{_enc(url)}&{_enc(pairs)}"
    algo = hashlib.sha1 if sig_method == "HMAC-SHA1" else hashlib.sha256
    params["oauth_signature"] = base64.b64encode(hmac.new(f"{cs}&".encode(), base.encode(), algo).digest()).decode()
    return params


@pytest.mark.parametrize("sig_method", ["HMAC-SHA1", "HMAC-SHA256"])
def test_oauth1_query_signature_accepted_on_plain_http_store(
    sandbox: Sandbox, http: httpx.Client, sig_method: str
) -> None:
    ck, cs = creds(sandbox, "plain")
    url = api(sandbox, "plain", "products")
    r = http.get(url, params=oauth_params(url, "GET", ck, cs, sig_method=sig_method, extra={"per_page": "2"}))
    assert r.status_code == 200, r.text
    assert len(r.json()) == 2
    assert r.headers["X-WP-Total"] == "5"


def test_oauth1_authorization_header_from_authlib(sandbox: Sandbox) -> None:
    ck, cs = creds(sandbox, "plain")
    url = api(sandbox, "plain", "system_status")
    signer = ClientAuth(ck, cs, signature_method=SIGNATURE_HMAC_SHA1, signature_type=SIGNATURE_TYPE_HEADER)
    signed_url, headers, _ = signer.sign("GET", url, {}, b"")
    assert headers["Authorization"].startswith("OAuth ")
    r = httpx.get(signed_url, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["environment"]["home_url"] == store_url(sandbox, "plain")


def test_oauth1_bad_signature(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, _ = creds(sandbox, "plain")
    url = api(sandbox, "plain", "products")
    r = http.get(url, params=oauth_params(url, "GET", ck, "cs_not_the_secret"))
    assert r.status_code == 401
    assert r.json()["message"] == "Invalid signature - provided signature does not match."


def test_oauth1_nonce_replay_is_rejected(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "plain")
    url = api(sandbox, "plain", "products")
    params = oauth_params(url, "GET", ck, cs)
    assert http.get(url, params=params).status_code == 200
    r = http.get(url, params=params)
    assert r.status_code == 401
    assert r.json()["message"] == "Invalid nonce - nonce has already been used."


def test_oauth1_timestamp_outside_15_minutes(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "plain")
    url = api(sandbox, "plain", "products")
    r = http.get(url, params=oauth_params(url, "GET", ck, cs, timestamp=int(time.time()) - 16 * 60))
    assert r.status_code == 401
    assert r.json()["message"] == "Invalid timestamp."


def test_oauth1_missing_parameters_and_bad_method_and_unknown_key(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "plain")
    url = api(sandbox, "plain", "products")
    r = http.get(url, params={"oauth_consumer_key": ck, "oauth_signature_method": "HMAC-SHA1"})
    assert r.json()["code"] == "woocommerce_rest_authentication_missing_parameter"
    assert "oauth_timestamp" in r.json()["message"] and "oauth_nonce" in r.json()["message"]
    r = http.get(url, params=oauth_params(url, "GET", ck, cs, sig_method="PLAINTEXT"))
    assert r.json()["message"] == "Invalid signature - signature method is invalid."
    r = http.get(url, params=oauth_params(url, "GET", "ck_unknown", cs))
    assert r.json()["message"] == "Consumer key is invalid."
    assert r.status_code == 401


# ---- pagination ------------------------------------------------------------------------------------
def test_pagination_headers_on_demo_store(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "demo")
    r = http.get(api(sandbox, "demo", "products"), params={"per_page": 10, "page": 2}, auth=(ck, cs))
    assert r.headers["X-WP-Total"] == "47"
    assert r.headers["X-WP-TotalPages"] == "5"
    link = r.headers["Link"]
    assert 'page=1>; rel="prev"' in link and 'page=3>; rel="next"' in link
    assert len(r.json()) == 10
    last = http.get(api(sandbox, "demo", "products"), params={"per_page": 10, "page": 5}, auth=(ck, cs))
    assert len(last.json()) == 7
    assert 'rel="next"' not in last.headers["Link"]


def test_pages_cover_every_product_once(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "demo")
    seen: list[int] = []
    url: str | None = api(sandbox, "demo", "products") + "?per_page=20"
    while url:
        r = http.get(url, auth=(ck, cs))
        seen.extend(p["id"] for p in r.json())
        nxt = [part for part in r.headers.get("Link", "").split(", ") if 'rel="next"' in part]
        url = nxt[0].split(">")[0].lstrip("<") if nxt else None
    assert sorted(seen) == list(range(1, 48))


def test_big_store_pagination_headers_without_crawling(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "big")
    r = http.get(api(sandbox, "big", "products"), params={"per_page": 100, "page": 100}, auth=(ck, cs))
    assert r.headers["X-WP-Total"] == "10000"
    assert r.headers["X-WP-TotalPages"] == "100"
    assert 'rel="prev"' in r.headers["Link"] and 'rel="next"' not in r.headers["Link"]
    assert len(r.json()) == 100


def test_empty_store_has_no_pages(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "empty")
    r = http.get(api(sandbox, "empty", "products"), auth=(ck, cs))
    assert r.json() == []
    assert r.headers["X-WP-Total"] == "0"
    assert r.headers["X-WP-TotalPages"] == "0"


def test_per_page_over_100_is_rest_invalid_param(sandbox: Sandbox, http: httpx.Client) -> None:
    ck, cs = creds(sandbox, "demo")
    r = http.get(api(sandbox, "demo", "products"), params={"per_page": 500}, auth=(ck, cs))
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): per_page"
    assert body["data"]["params"]["per_page"] == "per_page must be between 1 (inclusive) and 100 (inclusive)"


def test_seeded_catalog_is_deterministic(sandbox: Sandbox) -> None:
    from sandbox.woocommerce import WooState

    again = WooState(seed=7)
    assert again.store("demo").get_product(5)["name"] == sandbox.woo.store("demo").get_product(5)["name"]  # type: ignore[index]
    assert again.store("demo").seeded_key[1] == sandbox.woo.store("demo").seeded_key[1]


# ---- errors and routes -----------------------------------------------------------------------------
def test_unknown_route_is_rest_no_route(sandbox: Sandbox, http: httpx.Client) -> None:
    r = http.get(api(sandbox, "demo", "nothing_here"), auth=creds(sandbox, "demo"))
    assert r.status_code == 404
    assert r.json() == {
        "code": "rest_no_route",
        "message": "No route was found matching the URL and request method",
        "data": {"status": 404},
    }


def test_missing_product_is_invalid_id(sandbox: Sandbox, http: httpx.Client) -> None:
    r = http.get(api(sandbox, "demo", "products/99999"), auth=creds(sandbox, "demo"))
    assert r.status_code == 404
    assert r.json()["code"] == "woocommerce_rest_product_invalid_id"


def test_wp_json_index_and_rest_route_fallback(sandbox: Sandbox, http: httpx.Client) -> None:
    index = http.get(f"{store_url(sandbox, 'demo')}/wp-json/").json()
    assert "wc/v3" in index["namespaces"]
    r = http.get(
        f"{store_url(sandbox, 'demo')}/",
        params={"rest_route": "/wc/v3/products", "per_page": 3},
        auth=creds(sandbox, "demo"),
    )
    assert r.status_code == 200 and len(r.json()) == 3


def test_product_crud_money_as_strings(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = creds(sandbox, "demo")
    r = http.post(api(sandbox, "demo", "products"), json={"name": "Sandbox Tee", "regular_price": "19.99"}, auth=auth)
    assert r.status_code == 201
    pid = r.json()["id"]
    assert r.json()["price"] == "19.99"
    r = http.put(api(sandbox, "demo", f"products/{pid}"), json={"sale_price": "15.00"}, auth=auth)
    assert r.json()["price"] == "15.00" and r.json()["on_sale"] is True
    assert http.delete(api(sandbox, "demo", f"products/{pid}"), params={"force": "true"}, auth=auth).status_code == 200
    assert http.get(api(sandbox, "demo", f"products/{pid}"), auth=auth).status_code == 404


def test_orders_and_system_status(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = creds(sandbox, "demo")
    orders = http.get(api(sandbox, "demo", "orders"), auth=auth)
    assert orders.status_code == 200 and int(orders.headers["X-WP-Total"]) == len(sandbox.woo.store("demo").orders)
    assert isinstance(orders.json()[0]["total"], str)
    status = http.get(api(sandbox, "demo", "system_status"), auth=auth).json()
    assert {"environment", "database", "active_plugins", "theme", "settings", "security", "pages"} <= set(status)
    assert status["settings"]["currency"] == "USD"


def test_products_batch_create_update_delete(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = creds(sandbox, "demo")
    made = http.post(
        api(sandbox, "demo", "products/batch"), json={"create": [{"name": "B1"}, {"name": "B2"}]}, auth=auth
    ).json()
    ids = [p["id"] for p in made["create"]]
    r = http.post(
        api(sandbox, "demo", "products/batch"),
        json={"update": [{"id": ids[0], "name": "B1 renamed"}, {"id": 999999, "name": "ghost"}], "delete": ids},
        auth=auth,
    ).json()
    assert r["update"][0]["name"] == "B1 renamed"
    assert r["update"][1]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert [p["id"] for p in r["delete"]] == ids
    too_many = http.post(api(sandbox, "demo", "products/batch"), json={"delete": list(range(1, 102))}, auth=auth)
    assert too_many.status_code == 413


def test_product_list_include_exclude_orderby(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = creds(sandbox, "demo")
    r = http.get(api(sandbox, "demo", "products"), params={"include": "3,5,7", "order": "asc"}, auth=auth)
    assert [p["id"] for p in r.json()] == [3, 5, 7] and r.headers["X-WP-Total"] == "3"
    r = http.get(api(sandbox, "demo", "products"), params={"exclude": "47", "per_page": 1}, auth=auth)
    assert r.json()[0]["id"] == 46 and r.headers["X-WP-Total"] == "46"
    names = [
        p["name"]
        for p in http.get(
            api(sandbox, "demo", "products"), params={"orderby": "title", "order": "asc", "per_page": 100}, auth=auth
        ).json()
    ]
    assert names == sorted(names)
    bad = http.get(api(sandbox, "demo", "products"), params={"orderby": "colour"}, auth=auth)
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"
