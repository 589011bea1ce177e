"""Shared REST helpers: WP_Error rendering, pagination headers, request bodies."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from sandbox._http import Request, Response, json_response
from sandbox.woocommerce.state import Store

NO_ROUTE = ("rest_no_route", "No route was found matching the URL and request method", 404)


class RestError(Exception):
    """A WP_Error rendered as ``{code, message, data:{status}}``."""

    def __init__(self, code: str, message: str, status: int, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.extra = code, message, status, extra or {}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        """The JSON error response."""
        body = {"code": self.code, "message": self.message, "data": {"status": self.status, **self.extra}}
        return json_response(body, self.status, headers)


# ---- pagination ------------------------------------------------------------------------------------
def int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RestError(
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            400,
            {"params": {name: f"{name} is not of type integer."}},
        ) from None
    if value < low or (high is not None and value > high):
        rng = (
            f"{name} must be between {low} (inclusive) and {high} (inclusive)"
            if high
            else f"{name} must be greater than or equal to {low}"
        )
        raise RestError(
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            400,
            {"params": {name: rng}, "details": {name: {"code": "rest_out_of_bounds", "message": rng, "data": None}}},
        )
    return value


def paginate(store: Store, request: Request, path: str, total: int) -> tuple[int, int, dict[str, str]]:
    page = int_param(request, "page", 1, 1, None)
    per_page = int_param(request, "per_page", 10, 1, 100)
    pages = math.ceil(total / per_page) if total else 0
    base = f"{store.base_url}/wp-json{path}"
    params = {
        k: v
        for k, v in request.args.items()
        if k not in ("page", "consumer_key", "consumer_secret") and not k.startswith("oauth_")
    }
    links = []
    if page > 1:
        links.append(f'<{base}?{urlencode({**params, "page": page - 1})}>; rel="prev"')
    if page < pages:
        links.append(f'<{base}?{urlencode({**params, "page": page + 1})}>; rel="next"')
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    if links:
        headers["Link"] = ", ".join(links)
    return (page - 1) * per_page, per_page, headers


def body(request: Request) -> dict[str, Any]:
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise RestError("rest_invalid_json", "Invalid JSON body passed.", 400)
        return data
    return {k: v for k, v in request.form.items() if not k.startswith("oauth_")}


def not_found(kind: str) -> RestError:
    return RestError(f"woocommerce_rest_{kind}_invalid_id", "Invalid ID.", 404)
