"""Stripe simulator: ``/v1`` API (secret-key auth, Stripe-Account, Idempotency-Key) and Connect OAuth.

Point the official SDK at it with ``StripeClient(key, base_addresses={"api": url, "connect": url})`` or
``stripe.api_base = url; stripe.connect_api_base = url``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from sandbox._http import Request, Response, StartResponse, WSGIApp, WSGIEnv, json_response
from sandbox.faults import FaultMiddleware
from sandbox.stripe import api, endpoints, oauth
from sandbox.stripe.params import decode
from sandbox.stripe.state import Account, IdempotencyRecord, StripeError, StripeState, invalid_request, mask

__all__ = ["StripeError", "StripeState", "create_stripe_app"]

ROUTES = Map(
    [
        Rule("/v1/payment_intents", methods=["POST"], endpoint=api.create_payment_intent),
        Rule("/v1/payment_intents", methods=["GET"], endpoint=api.list_payment_intents),
        Rule("/v1/payment_intents/<oid>", methods=["GET"], endpoint=api.get_payment_intent),
        Rule("/v1/payment_intents/<oid>/confirm", methods=["POST"], endpoint=api.confirm_payment_intent),
        Rule("/v1/charges/<oid>", methods=["GET"], endpoint=api.get_charge),
        Rule("/v1/refunds", methods=["POST"], endpoint=api.create_refund),
        Rule("/v1/refunds/<oid>", methods=["GET"], endpoint=api.get_refund),
        Rule("/v1/webhook_endpoints", methods=["POST"], endpoint=endpoints.create_webhook_endpoint),
        Rule("/v1/webhook_endpoints", methods=["GET"], endpoint=endpoints.list_webhook_endpoints),
        Rule("/v1/webhook_endpoints/<oid>", methods=["GET"], endpoint=endpoints.get_webhook_endpoint),
        Rule("/v1/webhook_endpoints/<oid>", methods=["POST"], endpoint=endpoints.update_webhook_endpoint),
        Rule("/v1/webhook_endpoints/<oid>", methods=["DELETE"], endpoint=endpoints.delete_webhook_endpoint),
        Rule("/v1/account", methods=["GET"], endpoint=endpoints.get_account),
    ]
)
NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth "
    "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we "
    "can help at https://support.stripe.com/."
)


def _error_body(status: int, message: str) -> dict[str, Any]:
    if status == 429:
        return {
            "error": {
                "message": "Too many requests hit the API too quickly. We recommend an exponential backoff of "
                "your requests.",
                "type": "invalid_request_error",
                "code": "rate_limit",
            }
        }
    return {"error": {"message": f"Sandbox injected {status}: {message}", "type": "api_error"}}


def create_stripe_app(state: StripeState) -> WSGIApp:
    """The WSGI app (faults applied; ``Request-Id`` on every response)."""

    def core(environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        return _handle(state, Request(environ))(environ, start_response)

    faulty = FaultMiddleware(core, provider="stripe", faults=state.faults, error_body=_error_body)

    def app(environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        request_id = "req_" + secrets.token_urlsafe(10).replace("-", "a").replace("_", "b")
        environ["sandbox.request_id"] = request_id

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not any(k.lower() == "request-id" for k, _ in headers):
                headers = [*headers, ("Request-Id", request_id)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return faulty(environ, start)

    return app


def _err(exc: StripeError) -> Response:
    return json_response({"error": exc.body}, exc.status, exc.headers)


def _handle(state: StripeState, request: Request) -> Response:
    path = request.path
    if path.startswith("/oauth/"):
        if path == "/oauth/authorize":
            return oauth.authorize_page(state, request)
        if path == "/oauth/token" and request.method == "POST":
            return oauth.token(state, request)
        if path == "/oauth/deauthorize" and request.method == "POST":
            return oauth.deauthorize(state, request)
    try:
        endpoint, args = ROUTES.bind("sandbox").match(path, method=request.method)
    except (NotFound, MethodNotAllowed):
        return _err(
            invalid_request(
                f"Unrecognized request URL ({request.method}: {path}). Please see https://stripe.com/docs or we "
                f"can help at https://support.stripe.com/.",
                status=404,
            )
        )
    try:
        account = _authenticate(state, request)
    except StripeError as exc:
        return _err(exc)
    params = decode(request.form if request.method == "POST" else request.args)
    params.pop("expand", None)
    state.requests.append({"method": request.method, "path": path, "account": account.id, "params": params})
    handler = endpoint
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return _run(state, handler, account, params, args.get("oid"))
    return _idempotent(state, request, handler, account, params, args.get("oid"), key)


def _run(
    state: StripeState, handler: api.Handler, account: Account, params: dict[str, Any], oid: str | None
) -> Response:
    try:
        status, body = handler(state, account, params, oid)
    except StripeError as exc:
        return _err(exc)
    return json_response(body, status)


def _authenticate(state: StripeState, request: Request) -> Account:
    auth = request.authorization
    key = None
    if auth is not None and auth.type == "bearer":
        key = auth.token
    elif auth is not None and auth.type == "basic":
        key = auth.username
    if not key:
        raise StripeError(401, {"message": NO_KEY, "type": "invalid_request_error"})
    cred = state.faults.credential_state("stripe", key)
    if cred == "expired":
        raise StripeError(
            401,
            {
                "code": "api_key_expired",
                "doc_url": "https://stripe.com/docs/error-codes/api-key-expired",
                "message": f"Expired API Key provided: {mask(key)}",
                "type": "invalid_request_error",
            },
        )
    with state.lock:
        acct_id = state.keys.get(key) if cred is None else None
    if acct_id is None:
        raise StripeError(401, {"message": f"Invalid API Key provided: {mask(key)}", "type": "invalid_request_error"})
    account = state.accounts[acct_id]
    _check_restricted(state, request, key, account)
    target = request.headers.get("Stripe-Account")
    if target and target != account.id:
        with state.lock:
            other = state.accounts.get(target)
        if other is None or other.connected_to != account.id:
            raise StripeError(
                403,
                {
                    "message": f"The provided key '{mask(key)}' does not have access to account '{target}' (or "
                    "that account does not exist). Application access may have been revoked.",
                    "type": "invalid_request_error",
                    "code": "account_invalid",
                },
            )
        return other
    return account


def _check_restricted(state: StripeState, request: Request, key: str, account: Account) -> None:
    with state.lock:
        grants = state.restricted.get(key)
    if grants is None:
        return
    resource = request.path.split("/")[2] if request.path.count("/") >= 2 else ""
    needed = "read" if request.method == "GET" else "write"
    have = grants.get(resource)
    if have == "write" or have == needed:
        return
    singular = resource[:-1] if resource.endswith("s") else resource
    raise StripeError(
        403,
        {
            "message": f"The provided key '{mask(key)}' does not have the required permissions for this endpoint on "
            f"account '{account.id}'. Having the 'rak_{singular}_{needed}' permission would allow this request "
            "to continue.",
            "type": "invalid_request_error",
        },
    )


def _idempotent(
    state: StripeState,
    request: Request,
    handler: api.Handler,
    account: Account,
    params: dict[str, Any],
    oid: str | None,
    key: str,
) -> Response:
    if len(key) > 255:
        return _err(
            invalid_request("Invalid idempotency key: must be at most 255 characters.", param="Idempotency-Key")
        )
    scope = (account.id, key)
    canonical = json.dumps(params, sort_keys=True)
    import time as _time

    with state.lock:
        rec = state.idempotency.get(scope)
        if rec is not None and _time.time() - rec.created > state.IDEMPOTENCY_TTL:
            rec = None
        if rec is not None:
            if rec.in_progress:
                return _err(
                    StripeError(
                        409,
                        {
                            "message": "There is currently another in-progress request using this "
                            "Stripe-Idempotency-Key (that probably means you submitted twice, and the other "
                            "request is still going through): {key}. Please try again later.",
                            "type": "invalid_request_error",
                            "code": "idempotency_key_in_use",
                            "doc_url": "https://stripe.com/docs/error-codes/idempotency-key-in-use",
                        },
                    )
                )
            if rec.path != request.path or rec.method != request.method:
                return _err(
                    StripeError(
                        400,
                        {
                            "message": "Keys for idempotent requests can only be used for the same endpoint "
                            "they were first used for ('{request.method} {request.path}' vs '{rec.method} "
                            "{rec.path}'). Try using a key other than '{key}' if you meant to execute a "
                            "different request.",
                            "type": "idempotency_error",
                        },
                    )
                )
            if rec.params != canonical:
                return _err(
                    StripeError(
                        400,
                        {
                            "message": "Keys for idempotent requests can only be used with the same parameters "
                            "they were first used with. Try using a key other than '{key}' if you meant to "
                            "execute a different request.",
                            "type": "idempotency_error",
                        },
                    )
                )
            state.faults.count("stripe.idempotent_replays")
            return json_response(
                rec.body,
                rec.status,
                {"Idempotent-Replayed": "true", "Idempotency-Key": key, "Original-Request": rec.request_id},
            )
        rec = IdempotencyRecord(
            request.method, request.path, canonical, request_id=str(request.environ.get("sandbox.request_id", ""))
        )
        state.idempotency[scope] = rec
    gate = state.gate
    if gate is not None:
        gate.wait(30)
    try:
        status, body = handler(state, account, params, oid)
    except StripeError as exc:
        status, body = exc.status, {"error": exc.body}
        if not exc.saved:
            with state.lock:
                state.idempotency.pop(scope, None)
            return json_response(body, status, {"Idempotency-Key": key})
    except Exception:
        status, body = 500, {"error": {"message": "An unknown error occurred", "type": "api_error"}}
    with state.lock:
        rec.in_progress = False
        rec.status, rec.body = status, body
    return json_response(body, status, {"Idempotency-Key": key})
