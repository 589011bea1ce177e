"""Browser-facing pages of a store: ``/wc-auth/v1/*``, ``/wp-login.php`` and a minimal ``/wp-admin``."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from werkzeug.utils import redirect

from sandbox._http import Request, Response, html_page, json_response
from sandbox.woocommerce.state import Store, User

SCOPES = {
    "read": ["View coupons", "View customers", "View orders and sales reports", "View products"],
    "write": ["Create webhooks", "Create coupons", "Create customers", "Create orders", "Create products"],
    "read_write": [
        "Create webhooks",
        "View and manage coupons",
        "View and manage customers",
        "View and manage orders and sales reports",
        "View and manage products",
    ],
}
PERMISSION_LABELS = {"read": "Read", "write": "Write", "read_write": "Read/Write"}
AUTH_PARAMS = ("app_name", "user_id", "return_url", "callback_url", "scope")
CALLBACK_TIMEOUT = 60.0


def cookie_name(store: Store) -> str:
    """The login cookie of this store (one per store path)."""
    return f"wordpress_logged_in_{store.slug}"


def current_user(store: Store, request: Request) -> User | None:
    """The logged-in WordPress user, if any."""
    return store.user_for_session(request.cookies.get(cookie_name(store)))


def nonce(store: Store, request: Request, action: str) -> str:
    """A WordPress-like nonce bound to the session and the action."""
    session = request.cookies.get(cookie_name(store), "")
    return hmac.new(session.encode(), f"{store.slug}|{action}".encode(), hashlib.sha256).hexdigest()[:10]


def _die(message: str, status: int = 401) -> Response:
    return html_page("Access denied", f"<div class='wp-die-message'><p>Error: {escape(message)}.</p></div>", status)


def _login_response(store: Store, target: str, token: str, store_path: str) -> Response:
    resp = redirect(target, 302)
    resp.set_cookie(cookie_name(store), token, path=store_path or "/", httponly=True, samesite="Lax")
    return resp


# ---- wc-auth -----------------------------------------------------------------------------------------
def _formatted_url(url: str) -> str:
    return url if "://" in url else f"https://{url}"


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme in ("http", "https") and parts.hostname)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _validate(request: Request) -> dict[str, str]:
    data: dict[str, str] = {}
    for param in AUTH_PARAMS:
        values = request.args.getlist(param) or request.form.getlist(param)
        if not values or not values[0]:
            raise ValueError(f"Missing parameter {param}")
        if len(values) > 1:
            raise ValueError(f"Invalid parameter {param}")
        data[param] = values[0]
    if data["scope"] not in SCOPES:
        raise ValueError(f"Invalid scope {data['scope']}")
    for param in ("return_url", "callback_url"):
        if not _valid_url(_formatted_url(data[param])):
            raise ValueError(f"The {param} is not a valid URL")
    callback = _formatted_url(data["callback_url"])
    # Sandbox deviation: http callbacks are accepted for loopback hosts only (tests and the demo).
    if not callback.lower().startswith("https://") and not _loopback(callback):
        raise ValueError("The callback_url needs to be over SSL")
    return data


def handle_wc_auth(store: Store, request: Request, route: str, *, store_url: str, store_path: str) -> Response:
    """``/wc-auth/v1/{login,authorize,access_granted}``."""
    try:
        data = _validate(request)
    except ValueError as err:
        return _die(str(err))
    query = urlencode(data)
    user = current_user(store, request)
    if route == "login":
        if request.method == "POST":
            token = store.login(request.form.get("username", ""), request.form.get("password", ""))
            if token is None:
                return _login_form(store, data, error="The username or password you entered is incorrect.")
            return _login_response(store, f"{store_url}/wc-auth/v1/authorize?{query}", token, store_path)
        if user is None:
            return _login_form(store, data)
        return redirect(f"{store_url}/wc-auth/v1/authorize?{query}", 302)
    if user is None:
        return redirect(f"{store_url}/wc-auth/v1/login?{query}", 302)
    if route == "authorize":
        return _grant_page(store, request, data, user, store_url)
    if route == "access_granted":
        return _access_granted(store, request, data, user)
    return _die("You do not have permission to access this page")


def _login_form(store: Store, data: dict[str, str], error: str = "") -> Response:
    hidden = "".join(f"<input type='hidden' name='{k}' value='{escape(v)}'>" for k, v in data.items())
    err = f"<p class='woocommerce-error'>{escape(error)}</p>" if error else ""
    body = (
        f"<h1 id='wc-logo'>{escape(store.name)}</h1>{err}"
        f"<p>To connect to {escape(data['app_name'])} you need to be logged in. Log in to your store below, "
        "or cancel and return to the app.</p>"
        "<form method='post' class='wc-auth-login'>"
        "<p><label for='username'>Username or email address</label>"
        "<input type='text' name='username' id='username'></p>"
        "<p><label for='password'>Password</label><input type='password' name='password' id='password'></p>"
        f"{hidden}<p><input type='submit' class='button button-large button-primary wc-auth-login-button' "
        "name='login' value='Login'></p></form>"
    )
    return html_page("Log in", body, 401 if error else 200)


def _grant_page(store: Store, request: Request, data: dict[str, str], user: User, store_url: str) -> Response:
    grant_nonce = nonce(store, request, "wc_auth_grant_access")
    granted = f"{store_url}/wc-auth/v1/access_granted?{urlencode({**data, 'wc_auth_nonce': grant_nonce})}"
    deny = _add_query(_formatted_url(data["return_url"]), {"success": "0", "user_id": data["user_id"]})
    perms = "".join(f"<li>{escape(p)}</li>" for p in SCOPES[data["scope"]])
    body = (
        f"<h1>{escape(data['app_name'])} would like to connect to {escape(store.name)}</h1>"
        f'<p>This will give "{escape(data["app_name"])}" <strong>{escape(PERMISSION_LABELS[data["scope"]])}</strong> '
        "access which will allow it to:</p>"
        f"<ul class='wc-auth-permissions'>{perms}</ul>"
        f"<div class='wc-auth-logged-in-as'><p>Logged in as {escape(user.login)}</p></div>"
        f"<p class='wc-auth-actions'><a href='{escape(granted)}' class='button button-primary "
        f"wc-auth-approve'>Approve</a> "
        f"<a href='{escape(deny)}' class='button wc-auth-deny'>Deny</a></p>"
    )
    return html_page("Connect", body)


def _add_query(url: str, params: dict[str, str]) -> str:
    sep = "&" if urlsplit(url).query else "?"
    return f"{url}{sep}{urlencode(params)}"


def _access_granted(store: Store, request: Request, data: dict[str, str], user: User) -> Response:
    given = request.args.get("wc_auth_nonce", "")
    if not hmac.compare_digest(given, nonce(store, request, "wc_auth_grant_access")):
        return _die("Invalid nonce verification")
    description = f"{data['app_name']} - API ({datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')})"
    key, ck = store.create_key(user_id=user.id, description=description, permissions=data["scope"])
    payload: dict[str, Any] = {
        "key_id": key.key_id,
        "user_id": data["user_id"],
        "consumer_key": ck,
        "consumer_secret": key.consumer_secret,
        "key_permissions": data["scope"],
    }
    try:
        resp = httpx.post(
            _formatted_url(data["callback_url"]),
            json=payload,
            headers={"Content-Type": "application/json;charset=UTF-8"},
            timeout=CALLBACK_TIMEOUT,
        )
        ok = resp.status_code == 200
        error = "An error occurred in the request and at the time were unable to send the consumer data"
    except httpx.HTTPError as err:
        ok, error = False, str(err) or type(err).__name__
    if not ok:
        store.delete_key(key.key_id)
        return _die(error)
    store.faults.count("woocommerce.wc_auth_granted")
    return redirect(_add_query(_formatted_url(data["return_url"]), {"success": "1", "user_id": data["user_id"]}), 302)


# ---- wp-login / wp-admin -----------------------------------------------------------------------------
def handle_login(store: Store, request: Request, *, store_url: str, store_path: str) -> Response:
    """``/wp-login.php``: the WordPress login form."""
    redirect_to = request.values.get("redirect_to") or f"{store_url}/wp-admin/"
    if request.method == "POST":
        token = store.login(request.form.get("log", ""), request.form.get("pwd", ""))
        if token is not None:
            return _login_response(store, redirect_to, token, store_path)
        return _wp_login_form(redirect_to, "<strong>Error:</strong> The username or password you entered is incorrect.")
    if request.args.get("action") == "logout":
        resp = redirect(f"{store_url}/wp-login.php?loggedout=true", 302)
        resp.delete_cookie(cookie_name(store), path=store_path or "/")
        return resp
    return _wp_login_form(redirect_to, "")


def _wp_login_form(redirect_to: str, error: str) -> Response:
    err = f"<div id='login_error'>{error}</div>" if error else ""
    body = (
        f"<div id='login'>{err}<form name='loginform' id='loginform' method='post'>"
        "<p><label for='user_login'>Username or Email Address</label>"
        "<input type='text' name='log' id='user_login' class='input'></p>"
        "<div class='user-pass-wrap'><label for='user_pass'>Password</label>"
        "<input type='password' name='pwd' id='user_pass' class='input'></div>"
        f"<input type='hidden' name='redirect_to' value='{escape(redirect_to)}'>"
        "<p class='submit'><input type='submit' name='wp-submit' id='wp-submit' class='button button-primary' "
        "value='Log In'></p>"
        "</form></div>"
    )
    return html_page("Log In", body, 200)


def handle_admin(store: Store, request: Request, sub: str, *, store_url: str) -> Response:
    """``/wp-admin/*``: dashboard, the REST API keys screens and admin-ajax key generation."""
    user = current_user(store, request)
    if user is None:
        if sub == "admin-ajax.php":
            return Response("0", status=400)
        return redirect(f"{store_url}/wp-login.php?{urlencode({'redirect_to': request.url, 'reauth': '1'})}", 302)
    if sub == "admin-ajax.php" and request.method == "POST":
        return _ajax_update_key(store, request, user)
    if sub == "admin.php" and request.args.get("page") == "wc-settings":
        return _settings(store, request, user, store_url)
    if sub in ("", "index.php"):
        keys_url = f"{store_url}/wp-admin/admin.php?page=wc-settings&tab=advanced&section=keys"
        return html_page(
            "Dashboard",
            f"<h1>Dashboard</h1><ul id='adminmenu'><li><a href='{escape(keys_url)}'>WooCommerce &gt; Settings "
            f"&gt; Advanced &gt; REST API</a></li></ul>",
        )
    return html_page("Not found", "<p>Sorry, you are not allowed to access this page.</p>", 403)


def _settings(store: Store, request: Request, user: User, store_url: str) -> Response:
    if request.args.get("tab") != "advanced" or request.args.get("section") != "keys":
        return html_page("WooCommerce settings", "<h1>WooCommerce settings</h1>")
    keys_url = f"{store_url}/wp-admin/admin.php?page=wc-settings&tab=advanced&section=keys"
    if "revoke-key" in request.args:
        if not hmac.compare_digest(request.args.get("_wpnonce", ""), nonce(store, request, "revoke")):
            return _die("The link you followed has expired", 403)
        store.delete_key(int(request.args.get("revoke-key", "0") or 0))
        return redirect(f"{keys_url}&revoked=1", 302)
    if request.method == "POST" and "update_api_key" in request.form:
        result = _generate(store, request, user)
        if "error" in result:
            return _key_form(store, request, user, error=result["error"])
        return _key_form(store, request, user, generated=result)
    if request.args.get("create-key") == "1":
        return _key_form(store, request, user)
    rows = []
    with store.lock:
        keys = sorted(store.keys.values(), key=lambda k: k.key_id)
    revoke_nonce = nonce(store, request, "revoke")
    for k in keys:
        rows.append(
            f"<tr data-key-id='{k.key_id}'><td class='title'>{escape(k.description)}</td><td "
            f"class='truncated_key'><code>…{escape(k.truncated_key)}</code></td>"
            f"<td class='permissions'>{PERMISSION_LABELS.get(k.permissions, k.permissions)}</td>"
            f"<td><a class='revoke' "
            f"href='{escape(keys_url)}&amp;revoke-key={k.key_id}&amp;_wpnonce={revoke_nonce}'>Revoke</a></td></tr>"
        )
    notice = "<div class='updated'><p>API key revoked successfully.</p></div>" if request.args.get("revoked") else ""
    body = (
        f"<h1>REST API</h1>{notice}<a href='{escape(keys_url)}&amp;create-key=1' class='add-new-h2'>Add key</a>"
        f"<table class='wp-list-table widefat fixed striped keys'><tbody>{''.join(rows)}</tbody></table>"
    )
    return html_page("REST API", body)


def _generate(store: Store, request: Request, user: User) -> dict[str, Any]:
    form = request.form
    if not hmac.compare_digest(form.get("security", ""), nonce(store, request, "update-api-key")):
        return {"error": "Permission denied!"}
    description = form.get("description", "").strip()
    permissions = form.get("permissions", "read")
    if not description:
        return {"error": "Description is missing."}
    if permissions not in PERMISSION_LABELS:
        return {"error": "Permissions are missing."}
    try:
        owner = int(form.get("user", str(user.id)))
    except ValueError:
        owner = 0
    if owner not in store.users:
        return {"error": "User is missing."}
    key, ck = store.create_key(user_id=owner, description=description[:200], permissions=permissions)
    return {
        "user_id": owner,
        "description": key.description,
        "permissions": permissions,
        "consumer_key": ck,
        "consumer_secret": key.consumer_secret,
        "truncated_key": key.truncated_key,
        "message": "API Key generated successfully. Make sure to copy your new keys now as the secret key will "
        "be hidden once you leave this page.",
        "key_id": key.key_id,
    }


def _ajax_update_key(store: Store, request: Request, user: User) -> Response:
    if request.form.get("action") != "woocommerce_update_api_key":
        return Response("0", status=400)
    result = _generate(store, request, user)
    if "error" in result:
        return json_response({"success": False, "data": {"message": result["error"]}})
    result["revoke_url"] = '<a style="color: #a00; text-decoration: none;" href="#">Revoke key</a>'
    return json_response({"success": True, "data": result})


def _key_form(
    store: Store, request: Request, user: User, *, generated: dict[str, Any] | None = None, error: str = ""
) -> Response:
    options = "".join(
        f"<option value='{v}'{' selected' if v == 'read' else ''}>{label}</option>"
        for v, label in PERMISSION_LABELS.items()
    )
    users = "".join(
        f"<option value='{u.id}'{' selected' if u.id == user.id else ''}>{escape(u.login)}</option>"
        for u in store.users.values()
    )
    err = f"<div class='error'><p>{escape(error)}</p></div>" if error else ""
    shown = ""
    if generated is not None:
        shown = (
            f"<div class='updated'><p>{escape(generated['message'])}</p></div>"
            "<table id='api-keys-options'>"
            f"<tr><th>Consumer key</th><td><input id='key_consumer_key' type='text' readonly "
            f"value='{escape(generated['consumer_key'])}'></td></tr>"
            f"<tr><th>Consumer secret</th><td><input id='key_consumer_secret' type='text' readonly "
            f"value='{escape(generated['consumer_secret'])}'></td></tr>"
            "</table><div id='keys-qrcode'></div><a class='revoke-api-key' href='#'>Revoke key</a>"
        )
    body = (
        f"<h2>Key details</h2>{err}{shown}"
        "<form method='post' id='key-form'>"
        f"<input type='hidden' id='key_id' name='key_id' value='{generated['key_id'] if generated else 0}'>"
        f"<input type='hidden' name='security' value='{nonce(store, request, 'update-api-key')}'>"
        "<p><label for='key_description'>Description</label>"
        "<input id='key_description' name='description' type='text' maxlength='200'></p>"
        f"<p><label for='key_user'>User</label><select id='key_user' name='user'>{users}</select></p>"
        f"<p><label for='key_permissions'>Permissions</label><select id='key_permissions' "
        f"name='permissions'>{options}</select></p>"
        "<p><button type='submit' class='button button-primary' name='update_api_key' id='update_api_key' "
        "value='1'>Generate API key</button></p>"
        "</form>"
    )
    return html_page("Add key", body, 200)
