"""Routes providers call back on: `/callbacks/woocommerce/…`, `/callbacks/stripe/…`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from flask import Blueprint, Response, current_app, jsonify, render_template_string, request

from core.errors import OmniOpsError
from gateway.callbacks.service import CallbackService
from gateway.openapi import describe
from gateway.web import page_headers, require_csrf

bp = Blueprint("callbacks", __name__)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>OmniOps</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}</style>
</head><body><main><h1>{{ title }}</h1><p>{{ text }}</p></main></body></html>"""


def _service() -> CallbackService:
    service: CallbackService = current_app.extensions["omniops"].callbacks
    return service


def _page(title: str, text: str, status: int = 200) -> Response:
    return Response(render_template_string(_PAGE, title=title, text=text), status=status, mimetype="text/html")


@bp.post("/callbacks/woocommerce/keys")
@describe(
    "WooCommerce wc-auth delivers the new API key (JSON)",
    tags=("callbacks",),
    request={"type": "object"},
    responses={200: "Stored", 400: "Malformed", 403: "Refused", 404: "Unknown run", 409: "Already used"},
)
def woocommerce_keys() -> Response:
    run_id = _service().woocommerce_keys(request.get_json(force=True, silent=True))
    return jsonify(ok=True, run_id=run_id)


@bp.get("/callbacks/woocommerce/return")
@describe(
    "Where WooCommerce sends the owner's browser after approve/deny", tags=("callbacks",), response_type="text/html"
)
def woocommerce_return() -> Response:
    if request.args.get("success") == "1":
        return _page("WooCommerce connected", "Thanks! OmniOps is finishing the setup; we'll text you when it's done.")
    return _page("Not connected", "You didn't approve OmniOps in WooCommerce. Nothing was changed.")


_SIGNIN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<title>OmniOps: sign in for me</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;font-size:1rem}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}</style></head><body><main>
<h1>Let OmniOps sign in for you</h1>
<p>OmniOps will sign in to <strong>{{ store }}</strong>/wp-admin once, create a Read/Write REST API key named
after this job, and store only that key, encrypted. Your password is used once and kept only in memory for a
few minutes: it is never saved or logged.</p>
<form method="post" autocomplete="off">{{ csrf_field() }}
<label for="username">WordPress username</label><input id="username" name="username" required autocomplete="off">
<label for="password">Password</label>
<input id="password" name="password" type="password" required autocomplete="new-password">
<button type="submit" id="signin">Sign in and create the key</button></form></main></body></html>"""


@bp.route("/callbacks/woocommerce/signin/<token>", methods=["GET", "POST"])
@describe(
    "Key path (b): the owner's wp-admin login, used once in memory by the waiting setup",
    tags=("callbacks",),
    response_type="text/html",
    responses={200: "Form or accepted", 403: "Forged link", 404: "Unknown run", 409: "Already used"},
)
def woocommerce_signin(token: str) -> Response:
    service = _service()
    try:
        if request.method == "GET":
            store = service.woocommerce_signin_check(token)
            resp = Response(render_template_string(_SIGNIN, store=store), mimetype="text/html")
        else:
            require_csrf()
            service.woocommerce_signin(token, request.form.get("username", ""), request.form.get("password", ""))
            resp = _page(
                "Signing in", "Thanks! OmniOps is creating the key now; we'll text you when the setup is done."
            )
    except OmniOpsError as err:
        resp = _page("Can't sign in", err.message, err.status)
    return page_headers(resp)


@bp.post("/callbacks/woocommerce/webhook/<owner_id>")
@describe(
    "WooCommerce webhook deliveries (HMAC-SHA256 signed)",
    tags=("callbacks",),
    request={"type": "object"},
    responses={200: "Applied", 400: "Malformed", 403: "Bad signature"},
)
def woocommerce_webhook(owner_id: str) -> Response:
    headers = cast(Mapping[str, str], request.headers)  # case-insensitive lookups
    topic = _service().woocommerce_webhook(owner_id, headers, request.get_data())
    return jsonify(ok=True, topic=topic)


@bp.get("/callbacks/stripe/oauth")
@describe(
    "Stripe Connect OAuth redirect (code + state)",
    tags=("callbacks",),
    response_type="text/html",
    responses={200: "Connected or declined", 400: "Malformed", 403: "Forged state", 409: "Already used"},
)
def stripe_oauth() -> Response:
    try:
        _service().stripe_oauth(request.args.to_dict())
    except OmniOpsError as err:
        return _page("Stripe not connected", err.message, err.status)
    if request.args.get("error"):
        return _page("Stripe not connected", "You declined the connection. Nothing was changed.")
    return _page("Stripe connected", "Thanks! OmniOps is testing the connection; we'll text you when it's done.")
