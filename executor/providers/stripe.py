"""Stripe client: Connect OAuth (connect.stripe.com) and the v1 API (api.stripe.com), form-encoded.

Every POST carries an ``Idempotency-Key`` chosen by the caller (``run_id:step_id``), so a retried step can
never create a second charge, refund or webhook endpoint. Errors map to the runner's families: card errors
and other 4xx are rejections (with Stripe's own message), 401 (expired/revoked key) is ``CredentialsExpired``,
429/5xx/409 are retryable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from executor.providers.base import json_reason, send

PROVIDER = "stripe"
API_BASE = "https://api.stripe.com"
CONNECT_BASE = "https://connect.stripe.com"


def _reason(resp: httpx.Response) -> tuple[str, str | None]:
    body = json_reason(resp)
    err = body.get("error")
    if isinstance(err, dict):  # API error object
        return str(err.get("message") or err.get("type") or resp.status_code), err.get("code") or err.get("type")
    if isinstance(err, str):  # OAuth error: error is a string
        return str(body.get("error_description") or err), err
    return f"HTTP {resp.status_code}", None


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's bracket notation: {"metadata": {"a": 1}} → [("metadata[a]", "1")]."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, Mapping):
            out += _flatten(value, name)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                out += _flatten({str(i): item}, name) if isinstance(item, Mapping) else [(f"{name}[]", str(item))]
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif value is not None:
            out.append((name, str(value)))
    return out


class StripeConnect:
    """The platform side: build the authorize URL, exchange codes, deauthorize accounts."""

    def __init__(
        self, http: httpx.Client, *, client_id: str, platform_secret_key: str, connect_base: str = CONNECT_BASE
    ) -> None:
        self._http = http
        self.client_id = client_id
        self._secret = platform_secret_key
        self.connect_base = connect_base.rstrip("/")

    def __repr__(self) -> str:
        return f"StripeConnect(client_id={self.client_id!r})"

    def authorize_url(self, *, redirect_uri: str, state: str, scope: str = "read_write") -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "scope": scope,
                "redirect_uri": redirect_uri,
                "state": state,
            }
        )
        return f"{self.connect_base}/oauth/authorize?{query}"

    def exchange_code(self, code: str) -> dict[str, Any]:
        """Trade an authorization code for the connected account's token (``access_token``, ``stripe_user_id``)."""
        resp = send(
            PROVIDER,
            lambda: self._http.post(
                f"{self.connect_base}/oauth/token",
                data={"grant_type": "authorization_code", "code": code},
                headers={"Authorization": f"Bearer {self._secret}"},
            ),
            reason=_reason,
            credentials_expired=lambda r: False,
        )
        body: dict[str, Any] = resp.json()
        return body

    def deauthorize(self, stripe_user_id: str) -> None:
        send(
            PROVIDER,
            lambda: self._http.post(
                f"{self.connect_base}/oauth/deauthorize",
                data={"client_id": self.client_id, "stripe_user_id": stripe_user_id},
                headers={"Authorization": f"Bearer {self._secret}"},
            ),
            reason=_reason,
            credentials_expired=lambda r: False,
        )


class StripeClient:
    """The v1 API with one secret key, optionally acting on a connected account (``Stripe-Account``)."""

    def __init__(
        self, http: httpx.Client, *, secret_key: str, api_base: str = API_BASE, account: str | None = None
    ) -> None:
        self._http = http
        self._key = secret_key
        self.api_base = api_base.rstrip("/")
        self.account = account

    def __repr__(self) -> str:
        return f"StripeClient(account={self.account!r})"

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._key}"}
        if self.account:
            headers["Stripe-Account"] = self.account
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def post(self, path: str, data: Mapping[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        form = _flatten(data)
        headers = {**self._headers(idempotency_key), "Content-Type": "application/x-www-form-urlencoded"}
        resp = send(
            PROVIDER,
            lambda: self._http.post(f"{self.api_base}{path}", content=urlencode(form), headers=headers),
            reason=_reason,
        )
        body: dict[str, Any] = resp.json()
        return body

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        resp = send(
            PROVIDER,
            lambda: self._http.get(
                f"{self.api_base}{path}", params=dict(_flatten(params or {})), headers=self._headers(None)
            ),
            reason=_reason,
        )
        body: dict[str, Any] = resp.json()
        return body

    def delete(self, path: str) -> dict[str, Any]:
        resp = send(
            PROVIDER, lambda: self._http.delete(f"{self.api_base}{path}", headers=self._headers(None)), reason=_reason
        )
        body: dict[str, Any] = resp.json()
        return body

    # -------------------------------------------------------------------------------------------- API
    def create_test_payment(
        self, *, amount: int, currency: str, payment_method: str, idempotency_key: str, metadata: Mapping[str, str]
    ) -> dict[str, Any]:
        return self.post(
            "/v1/payment_intents",
            {
                "amount": amount,
                "currency": currency,
                "payment_method": payment_method,
                "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                "metadata": dict(metadata),
                "description": "OmniOps connection test",
            },
            idempotency_key=idempotency_key,
        )

    def refund(self, *, payment_intent: str, idempotency_key: str) -> dict[str, Any]:
        return self.post("/v1/refunds", {"payment_intent": payment_intent}, idempotency_key=idempotency_key)

    def create_webhook_endpoint(
        self, *, url: str, events: list[str], idempotency_key: str, metadata: Mapping[str, str]
    ) -> dict[str, Any]:
        return self.post(
            "/v1/webhook_endpoints",
            {"url": url, "enabled_events": events, "metadata": dict(metadata)},
            idempotency_key=idempotency_key,
        )

    def update_webhook_endpoint(
        self, endpoint_id: str, data: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``POST /v1/webhook_endpoints/{id}`` (e.g. ``{"disabled": False}`` to enable it again)."""
        return self.post(f"/v1/webhook_endpoints/{endpoint_id}", data, idempotency_key=idempotency_key)

    def retrieve_account(self) -> dict[str, Any]:
        """``GET /v1/account``: the (connected) account this key acts on; 401 once the token is revoked."""
        return self.get("/v1/account")

    def list_webhook_endpoints(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = self.get("/v1/webhook_endpoints", params)
            out += page.get("data", [])
            if not page.get("has_more") or not page.get("data"):
                return out
            params["starting_after"] = page["data"][-1]["id"]

    def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        self.delete(f"/v1/webhook_endpoints/{endpoint_id}")
