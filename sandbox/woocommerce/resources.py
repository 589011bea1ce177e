"""REST resources of one store: products, orders, customers, system_status, webhooks."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sandbox._http import Request, Response, json_response
from sandbox.woocommerce.rest_kit import RestError, body, not_found, paginate
from sandbox.woocommerce.state import WC_VERSION, WP_VERSION, Store

WEBHOOK_TOPICS = {
    f"{r}.{e}"
    for r in ("coupon", "customer", "order", "product")
    for e in ("created", "updated", "deleted", "restored")
}


# ---- products --------------------------------------------------------------------------------------
def _id_list(request: Request, name: str) -> set[int]:
    raw = request.args.get(name, "")
    try:
        return {int(x) for x in raw.split(",") if x.strip()}
    except ValueError:
        raise RestError(
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            400,
            {"params": {name: f"{name}[0] is not of type integer."}},
        ) from None


def _enum(request: Request, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        listing = ", ".join(allowed[:-1]) + f", and {allowed[-1]}" if len(allowed) > 2 else " and ".join(allowed)
        raise RestError(
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            400,
            {"params": {name: f"{name} is not one of {listing}."}},
        )
    return value


def _list_products(store: Store, request: Request, _rid: int | None) -> Response:
    """Ids grow with creation date, so ``orderby=date`` and ``orderby=id`` share the cheap path."""
    filters = {k: request.args.get(k) for k in ("search", "sku", "status", "featured", "stock_status", "category")}
    order = _enum(request, "order", "desc", ("asc", "desc"))
    orderby = _enum(
        request, "orderby", "date", ("date", "id", "include", "title", "slug", "price", "popularity", "rating")
    )
    include, exclude = _id_list(request, "include"), _id_list(request, "exclude")
    ids = store.product_ids()
    if include:
        ids = [i for i in ids if i in include]
    if exclude:
        ids = [i for i in ids if i not in exclude]
    if order == "desc":
        ids.reverse()
    extra_offset = int(request.args.get("offset", "0") or 0)
    if orderby in ("title", "slug", "price", "popularity") or any(v not in (None, "", "any") for v in filters.values()):
        rows = [p for p in store.iter_products(ids) if _matches(p, filters)]
        if orderby in ("title", "slug", "price", "popularity"):
            field = {"title": "name", "slug": "slug", "price": "price", "popularity": "total_sales"}[orderby]
            rows.sort(key=lambda p: float(p[field] or 0) if field == "price" else p[field], reverse=order == "desc")
        rows = rows[extra_offset:]
        offset, per_page, headers = paginate(store, request, "/wc/v3/products", len(rows))
        page_rows = rows[offset : offset + per_page]
    else:
        ids = ids[extra_offset:]
        offset, per_page, headers = paginate(store, request, "/wc/v3/products", len(ids))
        page_rows = list(store.iter_products(ids[offset : offset + per_page]))
    return json_response(page_rows, 200, headers)


def _matches(p: dict[str, Any], f: dict[str, str | None]) -> bool:
    if f["search"] and f["search"].lower() not in p["name"].lower():
        return False
    if f["sku"] and p["sku"] != f["sku"]:
        return False
    if f["status"] not in (None, "", "any") and p["status"] != f["status"]:
        return False
    if f["featured"] is not None and f["featured"] != "" and p["featured"] != (f["featured"] in ("true", "1")):
        return False
    if f["stock_status"] and p["stock_status"] != f["stock_status"]:
        return False
    return not (f["category"] and all(str(c["id"]) != f["category"] for c in p["categories"]))


def _get_product(store: Store, _r: Request, rid: int | None) -> Response:
    p = store.get_product(rid or 0)
    if p is None:
        raise not_found("product")
    return json_response(p)


def _create_product(store: Store, request: Request, _rid: int | None) -> Response:
    data = body(request)
    if not data.get("name"):
        data["name"] = "Product"
    return json_response(store.create_product(data), 201)


def _update_product(store: Store, request: Request, rid: int | None) -> Response:
    p = store.update_product(rid or 0, body(request))
    if p is None:
        raise not_found("product")
    return json_response(p)


def _delete_product(store: Store, request: Request, rid: int | None) -> Response:
    force = request.args.get("force", "false") in ("true", "1")
    p = store.delete_product(rid or 0, force=force)
    if p is None:
        raise not_found("product")
    return json_response(p)


BATCH_LIMIT = 100


def _batch_products(store: Store, request: Request, _rid: int | None) -> Response:
    data = body(request)
    create, update, delete = (data.get(k) or [] for k in ("create", "update", "delete"))
    if len(create) + len(update) + len(delete) > BATCH_LIMIT:
        raise RestError(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            413,
        )
    invalid = {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 400}}
    out: dict[str, list[Any]] = {"create": [], "update": [], "delete": []}
    for item in create:
        out["create"].append(store.create_product(dict(item)))
    for item in update:
        pid = int(item.get("id", 0))
        updated = store.update_product(pid, {k: v for k, v in item.items() if k != "id"})
        out["update"].append(updated if updated is not None else {"id": pid, "error": invalid})
    for raw in delete:
        gone = store.delete_product(int(raw), force=True)
        out["delete"].append(gone if gone is not None else {"id": int(raw), "error": invalid})
    return json_response(out)


# ---- orders / customers ----------------------------------------------------------------------------
def _list_orders(store: Store, request: Request, _rid: int | None) -> Response:
    status = request.args.get("status")
    with store.lock:
        rows = sorted(store.orders.values(), key=lambda o: o["id"], reverse=request.args.get("order", "desc") == "desc")
    if status and status != "any":
        rows = [o for o in rows if o["status"] in status.split(",")]
    # ISO 8601 strings of the same shape compare chronologically
    if request.args.get("after"):
        rows = [o for o in rows if o["date_created"] > request.args["after"][:19]]
    if request.args.get("before"):
        rows = [o for o in rows if o["date_created"] < request.args["before"][:19]]
    if request.args.get("customer"):
        rows = [o for o in rows if str(o["customer_id"]) == request.args["customer"]]
    offset, per_page, headers = paginate(store, request, "/wc/v3/orders", len(rows))
    return json_response(rows[offset : offset + per_page], 200, headers)


def _get_order(store: Store, _r: Request, rid: int | None) -> Response:
    with store.lock:
        o = store.orders.get(rid or 0)
    if o is None:
        raise not_found("shop_order")
    return json_response(o)


def _create_order(store: Store, request: Request, _rid: int | None) -> Response:
    return json_response(store.create_order(body(request)), 201)


def _update_order(store: Store, request: Request, rid: int | None) -> Response:
    o = store.update_order(rid or 0, body(request))
    if o is None:
        raise not_found("shop_order")
    return json_response(o)


def _list_customers(store: Store, request: Request, _rid: int | None) -> Response:
    with store.lock:
        rows = sorted(store.customers.values(), key=lambda c: c["id"])
    offset, per_page, headers = paginate(store, request, "/wc/v3/customers", len(rows))
    return json_response(rows[offset : offset + per_page], 200, headers)


def _get_customer(store: Store, _r: Request, rid: int | None) -> Response:
    with store.lock:
        c = store.customers.get(rid or 0)
    if c is None:
        raise RestError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
    return json_response(c)


# ---- system status ---------------------------------------------------------------------------------
def _system_status(store: Store, request: Request, _rid: int | None) -> Response:
    ssl = store.ssl or request.headers.get("X-Forwarded-Proto", "") == "https"
    env = {
        "home_url": store.base_url,
        "site_url": store.base_url,
        "version": WC_VERSION,
        "log_directory": "/var/www/html/wp-content/uploads/wc-logs/",
        "log_directory_writable": True,
        "wp_version": WP_VERSION,
        "wp_multisite": False,
        "wp_memory_limit": 268435456,
        "wp_debug_mode": False,
        "wp_cron": True,
        "language": "en_US",
        "server_info": "nginx/1.27.0",
        "php_version": "8.2.20",
        "php_post_max_size": 67108864,
        "php_max_execution_time": 30,
        "php_max_input_vars": 1000,
        "curl_version": "8.5.0, OpenSSL/3.0.13",
        "suhosin_installed": False,
        "max_upload_size": 67108864,
        "mysql_version": "8.0.36",
        "default_timezone": "UTC",
        "fsockopen_or_curl_enabled": True,
        "soapclient_enabled": True,
        "domdocument_enabled": True,
        "gzip_enabled": True,
        "mbstring_enabled": True,
        "remote_post_successful": True,
        "remote_post_response": 200,
        "remote_get_successful": True,
        "remote_get_response": 200,
    }
    tables = [
        "woocommerce_sessions",
        "woocommerce_api_keys",
        "woocommerce_attribute_taxonomies",
        "woocommerce_order_items",
    ]
    body = {
        "environment": env,
        "database": {
            "wc_database_version": WC_VERSION,
            "database_prefix": "wp_",
            "maxmind_geoip_database": "",
            "database_tables": {"woocommerce": {f"wp_{t}": True for t in tables}, "other": {}},
        },
        "active_plugins": [
            {
                "plugin": "woocommerce/woocommerce.php",
                "name": "WooCommerce",
                "version": WC_VERSION,
                "author_name": "Automattic",
            }
        ],
        "inactive_plugins": [],
        "theme": {
            "name": "Storefront",
            "version": "4.6.0",
            "version_latest": "4.6.0",
            "author_url": "https://woocommerce.com/",
            "is_child_theme": False,
            "has_woocommerce_support": True,
        },
        "settings": {
            "api_enabled": True,
            "force_ssl": False,
            "currency": "USD",
            "currency_symbol": "&#36;",
            "currency_position": "left",
            "thousand_separator": ",",
            "decimal_separator": ".",
            "number_of_decimals": 2,
            "geolocation_enabled": False,
            "taxonomies": {"external": "external", "grouped": "grouped", "simple": "simple", "variable": "variable"},
        },
        "security": {"secure_connection": ssl, "hide_errors": True},
        "pages": [],
    }
    return json_response(body)


# ---- webhooks --------------------------------------------------------------------------------------
def _list_webhooks(store: Store, request: Request, _rid: int | None) -> Response:
    with store.lock:
        rows = [h.to_json(store.base_url) for h in sorted(store.webhooks.values(), key=lambda h: h.id, reverse=True)]
    status = request.args.get("status")
    if status and status != "all":
        rows = [r for r in rows if r["status"] == status]
    offset, per_page, headers = paginate(store, request, "/wc/v3/webhooks", len(rows))
    return json_response(rows[offset : offset + per_page], 200, headers)


def _get_webhook(store: Store, _r: Request, rid: int | None) -> Response:
    with store.lock:
        hook = store.webhooks.get(rid or 0)
    if hook is None:
        raise RestError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
    return json_response(hook.to_json(store.base_url))


def _create_webhook(store: Store, request: Request, _rid: int | None) -> Response:
    data = body(request)
    topic = str(data.get("topic", ""))
    if not topic:
        raise RestError("rest_missing_callback_param", "Missing parameter(s): topic", 400, {"params": ["topic"]})
    if topic not in WEBHOOK_TOPICS and not topic.startswith("action."):
        raise RestError("woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid.", 400)
    url = str(data.get("delivery_url", ""))
    if not url.startswith(("http://", "https://")):
        raise RestError(
            "woocommerce_rest_webhook_invalid_delivery_url",
            "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            400,
        )
    status = str(data.get("status", "active"))
    if status not in ("active", "paused", "disabled"):
        raise RestError(
            "rest_invalid_param",
            "Invalid parameter(s): status",
            400,
            {"params": {"status": "status is not one of active, paused, and disabled."}},
        )
    secret = str(data.get("secret") or hashlib.md5(b"1|admin").hexdigest())
    hook = store.create_webhook(
        name=str(data.get("name") or f"Webhook created on {topic}"),
        topic=topic,
        delivery_url=url,
        secret=secret,
        status=status,
    )
    if store.ping is not None and status == "active":
        store.ping(store, hook)
    return json_response(hook.to_json(store.base_url), 201)


def _update_webhook(store: Store, request: Request, rid: int | None) -> Response:
    data = body(request)
    with store.lock:
        hook = store.webhooks.get(rid or 0)
        if hook is None:
            raise RestError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
        for f in ("name", "delivery_url", "secret", "status", "topic"):
            if f in data:
                setattr(hook, f, str(data[f]))
        if data.get("status") == "active":
            hook.failure_count = 0
        return json_response(hook.to_json(store.base_url))


def _delete_webhook(store: Store, request: Request, rid: int | None) -> Response:
    if request.args.get("force", "false") not in ("true", "1"):
        raise RestError("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
    with store.lock:
        hook = store.webhooks.pop(rid or 0, None)
    if hook is None:
        raise RestError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
    store.faults.count("woocommerce.webhooks_deleted")
    return json_response(hook.to_json(store.base_url))


Handler = Callable[[Store, Request, "int | None"], Response]
HANDLERS: dict[tuple[str, str], Handler] = {
    ("products", "GET"): _list_products,
    ("products", "POST"): _create_product,
    ("products_batch", "POST"): _batch_products,
    ("products_batch", "PUT"): _batch_products,
    ("products_batch", "PATCH"): _batch_products,
    ("product", "GET"): _get_product,
    ("product", "PUT"): _update_product,
    ("product", "PATCH"): _update_product,
    ("product", "POST"): _update_product,
    ("product", "DELETE"): _delete_product,
    ("orders", "GET"): _list_orders,
    ("orders", "POST"): _create_order,
    ("order", "GET"): _get_order,
    ("order", "PUT"): _update_order,
    ("order", "PATCH"): _update_order,
    ("order", "POST"): _update_order,
    ("customers", "GET"): _list_customers,
    ("customer", "GET"): _get_customer,
    ("system_status", "GET"): _system_status,
    ("webhooks", "GET"): _list_webhooks,
    ("webhooks", "POST"): _create_webhook,
    ("webhook", "GET"): _get_webhook,
    ("webhook", "PUT"): _update_webhook,
    ("webhook", "PATCH"): _update_webhook,
    ("webhook", "POST"): _update_webhook,
    ("webhook", "DELETE"): _delete_webhook,
}
