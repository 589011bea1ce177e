"""The ``/wp-json`` REST API (wc/v3) of one store: authentication, routing, permission checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from sandbox._http import Request, Response, json_response
from sandbox.woocommerce.auth import BASIC_REALM, AuthError, authenticate, check_permissions
from sandbox.woocommerce.resources import HANDLERS
from sandbox.woocommerce.rest_kit import NO_ROUTE, RestError
from sandbox.woocommerce.state import ApiKey, Store

__all__ = ["NO_ROUTE", "RestError", "handle_rest"]

ROUTES = Map(
    [
        Rule("/", endpoint="index"),
        Rule("/wc/v3", endpoint="namespace"),
        Rule("/wc/v3/products", endpoint="products"),
        Rule("/wc/v3/products/batch", endpoint="products_batch"),
        Rule("/wc/v3/products/<int:rid>", endpoint="product"),
        Rule("/wc/v3/orders", endpoint="orders"),
        Rule("/wc/v3/orders/<int:rid>", endpoint="order"),
        Rule("/wc/v3/customers", endpoint="customers"),
        Rule("/wc/v3/customers/<int:rid>", endpoint="customer"),
        Rule("/wc/v3/system_status", endpoint="system_status"),
        Rule("/wc/v3/webhooks", endpoint="webhooks"),
        Rule("/wc/v3/webhooks/<int:rid>", endpoint="webhook"),
    ],
    strict_slashes=False,
)
PUBLIC = {"index", "namespace"}


def handle_rest(store: Store, request: Request, route: str, *, url_path: str) -> Response:
    """Dispatch one REST request: authentication first (as WP does), then routing, then permissions."""
    try:
        key = authenticate(store, request, url_path=url_path)
        if key is not None:
            check_permissions(key, request.method)
    except AuthError as err:
        hdr = {"WWW-Authenticate": BASIC_REALM} if err.www_authenticate else None
        return RestError(err.code, err.message, 401).response(hdr)
    try:
        endpoint, args = ROUTES.bind("sandbox").match(route or "/", method=request.method)
    except (NotFound, MethodNotAllowed):
        return RestError(*NO_ROUTE).response()
    try:
        return _dispatch(store, request, str(endpoint), args, key)
    except RestError as err:
        return err.response()


def _dispatch(store: Store, request: Request, endpoint: str, args: Mapping[str, Any], key: ApiKey | None) -> Response:
    if endpoint == "index":
        return json_response(_index(store))
    if endpoint == "namespace":
        return json_response(
            {
                "namespace": "wc/v3",
                "routes": {f"/wc/v3{r.rule[6:]}": {} for r in ROUTES.iter_rules() if r.rule.startswith("/wc/v3/")},
            }
        )
    _require(key, request.method, "rid" in args)
    handler = HANDLERS.get((endpoint, request.method))
    if handler is None:
        raise RestError(*NO_ROUTE)
    return handler(store, request, args.get("rid"))


def _require(key: ApiKey | None, method: str, single: bool) -> None:
    if key is not None:
        return
    if method == "GET":
        if single:
            raise RestError("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.", 401)
        raise RestError("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
    if method == "POST" and not single:
        raise RestError("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.", 401)
    if method == "DELETE":
        raise RestError("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.", 401)
    raise RestError("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.", 401)


def _index(store: Store) -> dict[str, Any]:
    return {
        "name": store.name,
        "description": "Just another WordPress site",
        "url": store.base_url,
        "home": store.base_url,
        "gmt_offset": 0,
        "timezone_string": "UTC",
        "namespaces": ["oembed/1.0", "wc/v1", "wc/v2", "wc/v3", "wc/store/v1", "wc-analytics", "wp/v2"],
        "authentication": {},
        "routes": {f"/{r.rule.lstrip('/')}".rstrip("/") or "/": {"namespace": "wc/v3"} for r in ROUTES.iter_rules()},
        "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
    }
