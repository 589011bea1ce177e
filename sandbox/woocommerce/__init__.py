"""WooCommerce simulator: many stores under one WSGI app, one store per path prefix ``/stores/<slug>``.

Store URL ``{base}/stores/<slug>``; under it ``/wp-json/...`` (REST, also ``/?rest_route=/wc/v3/...``),
``/wc-auth/v1/...`` (app authorization), ``/wp-login.php`` and ``/wp-admin/...``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sandbox._http import Request, Response, StartResponse, WSGIApp, WSGIEnv, json_response
from sandbox.faults import FaultMiddleware, Faults
from sandbox.woocommerce.pages import handle_admin, handle_login, handle_wc_auth
from sandbox.woocommerce.rest import NO_ROUTE, RestError, handle_rest
from sandbox.woocommerce.state import ApiKey, Store, Webhook
from sandbox.woocommerce.webhooks import Delivery, WebhookDispatcher, webhook_signature

__all__ = ["ApiKey", "Delivery", "Store", "StoreSpec", "WooState", "create_woocommerce_app", "webhook_signature"]


@dataclass(frozen=True)
class StoreSpec:
    """A seeded store."""

    slug: str
    name: str
    products: int
    ssl: bool = True


DEFAULT_STORES = (
    StoreSpec("demo", "Demo Store", 47),
    StoreSpec("empty", "Empty Store", 0),
    StoreSpec("big", "Big Store", 10_000),
    StoreSpec("plain", "Plain HTTP Store", 5, ssl=False),
)


class WooState:
    """All stores plus the webhook dispatcher: the Python API tests and the demo drive."""

    def __init__(
        self, *, seed: int = 0, faults: Faults | None = None, stores: Iterable[StoreSpec] = DEFAULT_STORES
    ) -> None:
        self.seed = seed
        self.faults = faults or Faults(seed=seed)
        self.dispatcher = WebhookDispatcher()
        self.stores: dict[str, Store] = {}
        for spec in stores:
            self.add_store(spec)

    def add_store(self, spec: StoreSpec) -> Store:
        """Create (or replace) a seeded store."""
        store = Store(
            slug=spec.slug,
            name=spec.name,
            product_count=spec.products,
            seed=self.seed,
            ssl=spec.ssl,
            faults=self.faults,
        )
        store.dispatcher = self.dispatcher.enqueue
        store.ping = self.dispatcher.enqueue_ping
        self.stores[spec.slug] = store
        return store

    def store(self, slug: str) -> Store:
        """A store by slug (KeyError if unknown)."""
        return self.stores[slug]

    def set_base_url(self, base_url: str) -> None:
        """Tell every store its public URL (``{base_url}/stores/<slug>``)."""
        for slug, store in self.stores.items():
            store.base_url = f"{base_url.rstrip('/')}/stores/{slug}"

    def create_product(self, slug: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create a product in a store (fires webhooks)."""
        return self.stores[slug].create_product(data)

    def update_product(self, slug: str, product_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
        """Update a product (fires webhooks)."""
        return self.stores[slug].update_product(product_id, data)

    def delete_product(self, slug: str, product_id: int) -> dict[str, Any] | None:
        """Delete a product (fires webhooks)."""
        return self.stores[slug].delete_product(product_id, force=True)

    def deliveries(self) -> list[Delivery]:
        """Every webhook delivery attempt so far."""
        return list(self.dispatcher.deliveries)

    def drain_webhooks(self, timeout: float = 10.0) -> None:
        """Wait until queued webhook deliveries were attempted."""
        self.dispatcher.drain(timeout)

    def describe(self) -> list[dict[str, Any]]:
        """Each store's URL, admin login and the ready-made Read/Write REST key (for ``--json``)."""
        out = []
        for store in self.stores.values():
            key, ck = store.seeded_key
            admin = store.users[1]
            out.append(
                {
                    "slug": store.slug,
                    "name": store.name,
                    "url": store.base_url,
                    "ssl": store.ssl,
                    "products": store.product_count(),
                    "admin": {"login": admin.login, "password": admin.password, "url": f"{store.base_url}/wp-admin/"},
                    "rest_key": {
                        "consumer_key": ck,
                        "consumer_secret": key.consumer_secret,
                        "permissions": key.permissions,
                    },
                }
            )
        return out


def _woo_error(status: int, message: str) -> dict[str, Any]:
    code = "woocommerce_rest_too_many_requests" if status == 429 else "internal_server_error"
    return {"code": code, "message": message, "data": {"status": status}}


def create_woocommerce_app(state: WooState) -> WSGIApp:
    """The WSGI app serving every store of ``state`` (faults applied)."""

    def app(environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        return _route(state, request)(environ, start_response)

    return FaultMiddleware(app, provider="woocommerce", faults=state.faults, error_body=_woo_error)


def _route(state: WooState, request: Request) -> Response:
    parts = request.path.split("/", 3)  # ['', 'stores', slug, rest]
    if len(parts) < 3 or parts[1] != "stores" or parts[2] not in state.stores:
        if request.path in ("", "/"):
            return json_response({"stores": state.describe()})
        return json_response(
            {
                "code": "rest_no_route",
                "message": "No route was found matching the URL and request method",
                "data": {"status": 404},
            },
            404,
        )
    store = state.stores[parts[2]]
    store_path = f"{request.script_root}/stores/{store.slug}"
    store_url = f"{request.host_url.rstrip('/')}{store_path}"
    if not store.base_url:
        store.base_url = store_url
    sub = "/" + (parts[3] if len(parts) > 3 else "")
    if sub.startswith("/wp-json"):
        return handle_rest(store, request, sub[len("/wp-json") :] or "/", url_path=f"{store_path}{sub}")
    if sub in ("/", "/index.php") and "rest_route" in request.args:
        return handle_rest(store, request, request.args["rest_route"], url_path=f"{store_path}{sub}")
    if sub.startswith("/wc-auth/v1/"):
        return handle_wc_auth(
            store, request, sub[len("/wc-auth/v1/") :].strip("/"), store_url=store_url, store_path=store_path
        )
    if sub == "/wp-login.php":
        return handle_login(store, request, store_url=store_url, store_path=store_path)
    if sub.startswith("/wp-admin"):
        return handle_admin(store, request, sub[len("/wp-admin") :].strip("/"), store_url=store_url)
    if sub == "/":
        return Response(f"<html><body><h1>{store.name}</h1></body></html>", mimetype="text/html")
    return RestError(*NO_ROUTE).response()


_ = (ApiKey, Webhook)
