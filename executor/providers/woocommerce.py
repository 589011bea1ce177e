"""WooCommerce REST API v3 client (`{store_url}/wp-json/wc/v3/...`).

Auth as WooCommerce itself decides it: HTTP Basic (consumer key/secret) over HTTPS; over plain HTTP only
OAuth 1.0a one-legged signatures are accepted (HMAC-SHA256, nonce + timestamp, signing key ``secret&``).
Pagination follows ``X-WP-TotalPages`` with ``per_page=100`` (the maximum), one page in memory at a time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from core.errors import ProviderRejected
from executor.providers.base import json_reason, send

PROVIDER = "woocommerce"
API_PREFIX = "/wp-json/wc/v3"
MAX_PER_PAGE = 100
APP_NAME = "OmniOps"


def _enc(value: str) -> str:
    return quote(value, safe="~-._")


def oauth1_params(
    method: str,
    url: str,
    params: Mapping[str, str],
    *,
    consumer_key: str,
    consumer_secret: str,
    timestamp: int,
    nonce: str,
    signature_method: str = "HMAC-SHA256",
) -> dict[str, str]:
    """Return ``params`` plus the OAuth 1.0a one-legged parameters and signature for ``method url``."""
    oauth = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce,
        "oauth_signature_method": signature_method,
        "oauth_timestamp": str(timestamp),
    }
    merged = {**params, **oauth}
    normalized = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted((str(k), str(v)) for k, v in merged.items()))
    parts = urlsplit(url)
    base_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    base_string = "&".join((method.upper(), _enc(base_url), _enc(normalized)))
    digest = hashlib.sha256 if signature_method == "HMAC-SHA256" else hashlib.sha1
    sig = hmac.new(f"{consumer_secret}&".encode(), base_string.encode(), digest).digest()
    return {**merged, "oauth_signature": base64.b64encode(sig).decode()}


def _reason(resp: httpx.Response) -> tuple[str, str | None]:
    body = json_reason(resp)
    return str(body.get("message") or f"HTTP {resp.status_code}"), body.get("code")


def _expired(resp: httpx.Response) -> bool:
    code = json_reason(resp).get("code", "")
    return resp.status_code == 401 and str(code).startswith("woocommerce_rest_authentication")


def probe(http: httpx.Client, store_url: str) -> dict[str, Any]:
    """Check the site answers and exposes the WooCommerce REST API; returns the WP REST index summary."""
    try:
        resp = send(
            PROVIDER, lambda: http.get(f"{store_url}/wp-json/"), reason=_reason, credentials_expired=lambda r: False
        )
    except ProviderRejected as err:
        raise ProviderRejected(
            f"{store_url} does not look like a WordPress site: it has no REST API at /wp-json/ "
            f"(HTTP {err.http_status}). Check the address.",
            provider=PROVIDER,
            http_status=err.http_status,
        ) from err
    try:
        index = resp.json()
    except ValueError as err:
        raise ProviderRejected(f"{store_url} does not look like a WordPress site", provider=PROVIDER) from err
    namespaces = index.get("namespaces", []) if isinstance(index, dict) else []
    if "wc/v3" not in namespaces:
        raise ProviderRejected(
            f"{store_url} is a WordPress site without the WooCommerce REST API (is WooCommerce active?)",
            provider=PROVIDER,
        )
    return {"name": index.get("name"), "url": index.get("url"), "https": store_url.startswith("https://")}


def authorize_url(*, store_url: str, scope: str, user_id: str, return_url: str, callback_url: str) -> str:
    """The `/wc-auth/v1/authorize` URL the owner opens to approve our app in their own wp-admin."""
    query = urlencode(
        {
            "app_name": APP_NAME,
            "scope": scope,
            "user_id": user_id,
            "return_url": return_url,
            "callback_url": callback_url,
        }
    )
    return f"{store_url}/wc-auth/v1/authorize?{query}"


class WooCommerceClient:
    """A store's REST API with one key pair. Construct per use; the key never leaves this object."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        store_url: str,
        consumer_key: str,
        consumer_secret: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self.store_url = store_url.rstrip("/")
        self._key = consumer_key
        self._secret = consumer_secret
        self._clock = clock

    def __repr__(self) -> str:
        return f"WooCommerceClient(store_url={self.store_url!r})"

    # -------------------------------------------------------------------------------------------- transport
    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> httpx.Response:
        url = f"{self.store_url}{API_PREFIX}{path}"
        query = {k: str(v) for k, v in (params or {}).items()}

        def call() -> httpx.Response:
            if self.store_url.startswith("https://"):
                return self._http.request(method, url, params=query, json=json, auth=(self._key, self._secret))
            signed = oauth1_params(
                method,
                url,
                query,
                consumer_key=self._key,
                consumer_secret=self._secret,
                timestamp=int(self._clock()),
                nonce=secrets.token_hex(16),
            )
            return self._http.request(method, url, params=signed, json=json)

        return send(PROVIDER, call, reason=_reason, credentials_expired=_expired)

    # -------------------------------------------------------------------------------------------- API
    def system_status(self) -> dict[str, Any]:
        body: dict[str, Any] = self.request("GET", "/system_status").json()
        return body

    def iter_pages(
        self, path: str, *, params: Mapping[str, Any] | None = None
    ) -> Iterator[tuple[int, int, int, list[dict[str, Any]]]]:
        """Yield ``(page, total_pages, total_items, items)`` for a collection, 100 items per request."""
        page, total_pages = 1, 1
        while page <= total_pages:
            resp = self.request("GET", path, params={**(params or {}), "per_page": MAX_PER_PAGE, "page": page})
            total_pages = int(resp.headers.get("X-WP-TotalPages") or 1)
            total = int(resp.headers.get("X-WP-Total") or 0)
            items = resp.json()
            if not isinstance(items, list):
                raise ProviderRejected(f"unexpected answer from {path}", provider=PROVIDER)
            yield page, total_pages, total, items
            if not items:
                break
            page += 1

    def iter_collection(self, path: str, *, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paginated collection, one page in memory at a time."""
        for _page, _pages, _total, items in self.iter_pages(path, params=params):
            yield from items

    def create_webhook(self, *, name: str, topic: str, delivery_url: str, secret: str) -> dict[str, Any]:
        body: dict[str, Any] = self.request(
            "POST", "/webhooks", json={"name": name, "topic": topic, "delivery_url": delivery_url, "secret": secret}
        ).json()
        return body

    def list_webhooks(self) -> list[dict[str, Any]]:
        return list(self.iter_collection("/webhooks"))

    def update_webhook(self, webhook_id: int, **fields: str) -> dict[str, Any]:
        """``PUT /webhooks/{id}`` with ``fields`` (e.g. ``status="active"``)."""
        body: dict[str, Any] = self.request("PUT", f"/webhooks/{webhook_id}", json=fields).json()
        return body

    def delete_webhook(self, webhook_id: int) -> None:
        self.request("DELETE", f"/webhooks/{webhook_id}", params={"force": "true"})
