"""Connect OAuth: ``/oauth/authorize`` (page), ``/oauth/token``, ``/oauth/deauthorize``."""

from __future__ import annotations

import secrets
import time
from html import escape
from urllib.parse import urlencode, urlsplit

from werkzeug.utils import redirect

from sandbox._http import Request, Response, html_page, json_response
from sandbox.stripe.params import decode
from sandbox.stripe.state import StripeState

CODE_TTL = 300


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _redirect_with(uri: str, params: dict[str, str]) -> Response:
    sep = "&" if urlsplit(uri).query else "?"
    return redirect(f"{uri}{sep}{urlencode(params)}", 302)


def authorize_page(state: StripeState, request: Request) -> Response:
    """GET shows the consent page; POST (the page's buttons) redirects back with a code or an error."""
    args = request.values
    client_id = args.get("client_id", "")
    if client_id != state.client_id:
        return html_page(
            "Stripe", "<h1>Invalid client_id</h1><p>No application matches the supplied client identifier.</p>", 400
        )
    if args.get("response_type", "code") != "code":
        return html_page("Stripe", "<h1>Invalid response_type</h1><p>Only 'code' is supported.</p>", 400)
    scope = args.get("scope", "read_only")
    if scope not in ("read_write", "read_only"):
        return html_page("Stripe", f"<h1>Invalid scope</h1><p>Invalid scope: {escape(scope)}</p>", 400)
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri or (state.redirect_uris and redirect_uri not in state.redirect_uris):
        return html_page(
            "Stripe",
            "<h1>Invalid redirect_uri</h1><p>Invalid redirect URI. It must match one of your registered "
            "redirect URIs.</p>",
            400,
        )
    st = args.get("state", "")
    if request.method == "POST":
        if request.form.get("decision") != "approve":
            return _redirect_with(
                redirect_uri,
                {"error": "access_denied", "error_description": "The user denied your request", "state": st},
            )
        acct = state.connect_account(name=request.form.get("business_name") or "Connected Store", scope=scope)
        code = "ac_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
        with state.lock:
            state.codes[code] = {
                "account": acct.id,
                "created": time.time(),
                "used": False,
                "redirect_uri": redirect_uri,
            }
        return _redirect_with(redirect_uri, {"scope": scope, "code": code, "state": st})
    hidden = "".join(f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>" for k, v in args.items())
    body = (
        f"<h1>Connect your Stripe account to {escape(state.platform.name)}</h1>"
        f"<p>{escape(state.platform.name)} is requesting <strong>{escape(scope)}</strong> access.</p>"
        f"<form method='post'>{hidden}<label for='business_name'>Account name</label>"
        "<input id='business_name' name='business_name' value='Connected Store'>"
        "<button type='submit' id='approve' name='decision' value='approve'>Connect my Stripe account</button>"
        "<button type='submit' id='deny' name='decision' value='deny'>Deny</button></form>"
    )
    return html_page("Stripe Connect", body)


def _platform_key(state: StripeState, request: Request, params: dict[str, object]) -> str | None:
    auth = request.authorization
    key = None
    if auth is not None and auth.type == "bearer":
        key = auth.token
    elif auth is not None and auth.type == "basic":
        key = auth.username
    key = key or (str(params["client_secret"]) if params.get("client_secret") else None)
    if key is None or state.keys.get(key) != state.platform.id or state.faults.credential_state("stripe", key):
        return None
    return key


def token(state: StripeState, request: Request) -> Response:
    """``POST /oauth/token`` (authorization_code and refresh_token grants)."""
    params = decode(request.form)
    if _platform_key(state, request, params) is None:
        return _oauth_error(
            "invalid_client",
            "No authentication was provided. Send your secret API key using the Authorization header, or as a "
            "client_secret POST parameter.",
            401,
        )
    grant = str(params.get("grant_type", ""))
    if grant == "authorization_code":
        code = str(params.get("code", ""))
        with state.lock:
            entry = state.codes.get(code)
            if entry is None or time.time() - float(entry["created"]) > CODE_TTL:
                return _oauth_error("invalid_grant", f"Authorization code does not exist: {code}")
            if entry["used"]:
                return _oauth_error("invalid_grant", f"Authorization code provided has already been used: {code}")
            entry["used"] = True
            acct = state.accounts[str(entry["account"])]
        state.faults.count("stripe.oauth_tokens")
        return json_response(state.issue_tokens(acct))
    if grant == "refresh_token":
        rt = str(params.get("refresh_token", ""))
        with state.lock:
            acct_id = state.refresh_tokens.get(rt)
        if acct_id is None:
            return _oauth_error("invalid_grant", f"Invalid refresh token: {rt}")
        acct = state.accounts[acct_id]
        scope = str(params.get("scope", acct.scope))
        if scope not in ("read_only", "read_write") or (acct.scope == "read_only" and scope == "read_write"):
            return _oauth_error("invalid_scope", f"Invalid scope: {scope}")
        out = state.issue_tokens(acct)
        out["scope"] = scope
        return json_response(out)
    if not grant:
        return _oauth_error("invalid_request", "No grant type specified")
    return _oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant}")


def deauthorize(state: StripeState, request: Request) -> Response:
    """``POST /oauth/deauthorize``."""
    params = decode(request.form)
    if _platform_key(state, request, params) is None:
        return _oauth_error("invalid_client", "No authentication was provided.", 401)
    if params.get("client_id") != state.client_id:
        return _oauth_error("invalid_client", f"No such application: '{params.get('client_id', '')}'")
    user = str(params.get("stripe_user_id", ""))
    if not state.deauthorize(user):
        return _oauth_error(
            "invalid_client",
            f"This application is not connected to stripe account {user}, or that account does not exist.",
        )
    return json_response({"stripe_user_id": user})
