"""``/v1/webhook_endpoints`` and ``/v1/account``."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.stripe.api import _missing, _now, _require, _unknown
from sandbox.stripe.events import EndpointTarget
from sandbox.stripe.paging import paginate
from sandbox.stripe.params import truthy
from sandbox.stripe.state import Account, StripeState, invalid_request


# ---- webhook endpoints -----------------------------------------------------------------------------
def create_webhook_endpoint(
    state: StripeState, account: Account, params: dict[str, Any], _oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``POST /v1/webhook_endpoints``."""
    _unknown(
        params, {"url", "enabled_events", "description", "metadata", "api_version", "connect", "expand", "disabled"}
    )
    url = str(_require(params, "url"))
    events = _require(params, "enabled_events")
    if not url.startswith(("http://", "https://")):
        raise invalid_request("Invalid URL: URL must be publicly accessible.", param="url", code="url_invalid")
    endpoint_id = state.new_id("we")
    enabled = [str(e) for e in events] if isinstance(events, list) else [str(events)]
    endpoint: dict[str, Any] = {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "api_version": params.get("api_version"),
        "application": None,
        "created": _now(),
        "description": params.get("description"),
        "enabled_events": enabled,
        "livemode": False,
        "metadata": params.get("metadata") or {},
        "status": "enabled",
        "url": url,
    }
    state.put(account, endpoint)
    secret = "whsec_" + secrets.token_urlsafe(24)
    target = EndpointTarget(endpoint_id, url, secret, list(enabled), truthy(params.get("connect")), account.id)
    state.events.register(target)
    state.faults.count("stripe.webhooks_registered")
    return 200, {**endpoint, "secret": secret}


def list_webhook_endpoints(
    state: StripeState, account: Account, params: dict[str, Any], _oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``GET /v1/webhook_endpoints``."""
    return 200, paginate(state.list_objects(account, "webhook_endpoint"), params, "/v1/webhook_endpoints")


def get_webhook_endpoint(
    state: StripeState, account: Account, _p: dict[str, Any], oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``GET /v1/webhook_endpoints/{id}``."""
    we = state.get(account, oid or "", "webhook_endpoint")
    if we is None or we.get("deleted"):
        raise _missing("webhook_endpoint", oid or "", "webhook_endpoint")
    return 200, we


def update_webhook_endpoint(
    state: StripeState, account: Account, params: dict[str, Any], oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``POST /v1/webhook_endpoints/{id}``: ``disabled``, ``url``, ``enabled_events``, ``description``, ``metadata``."""
    _unknown(params, {"url", "enabled_events", "description", "metadata", "disabled", "expand"})
    we = state.get(account, oid or "", "webhook_endpoint")
    if we is None or we.get("deleted"):
        raise _missing("webhook_endpoint", oid or "", "webhook_endpoint")
    with state.lock:
        if "disabled" in params:
            we["status"] = "disabled" if truthy(params["disabled"]) else "enabled"
        if "url" in params:
            we["url"] = str(params["url"])
        if "enabled_events" in params:
            events = params["enabled_events"]
            we["enabled_events"] = [str(e) for e in events] if isinstance(events, list) else [str(events)]
        for field in ("description", "metadata"):
            if field in params:
                we[field] = params[field]
        return 200, dict(we)


def delete_webhook_endpoint(
    state: StripeState, account: Account, _p: dict[str, Any], oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``DELETE /v1/webhook_endpoints/{id}``."""
    we = state.get(account, oid or "", "webhook_endpoint")
    if we is None or we.get("deleted"):
        raise _missing("webhook_endpoint", oid or "", "webhook_endpoint")
    with state.lock:
        we["deleted"] = True
    state.events.unregister(we["id"])
    state.faults.count("stripe.webhooks_deleted")
    return 200, {"id": we["id"], "object": "webhook_endpoint", "deleted": True}


def get_account(
    state: StripeState, account: Account, _p: dict[str, Any], _oid: str | None
) -> tuple[int, dict[str, Any]]:
    """``GET /v1/account``."""
    return 200, {
        "id": account.id,
        "object": "account",
        "business_profile": {"name": account.name},
        "charges_enabled": True,
        "country": "US",
        "default_currency": "usd",
        "type": "standard",
    }
