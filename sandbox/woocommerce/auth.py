"""REST authentication exactly as ``WC_REST_Authentication``: Basic / query keys over SSL, OAuth 1.0a always.

Sandbox choice (documented in sandbox/README.md): a store's ``ssl`` flag stands for "this store is served over
HTTPS behind a TLS-terminating proxy" (``X-Forwarded-Proto: https`` also sets it). Seeded stores ``demo``,
``empty`` and ``big`` have ``ssl=True`` so Basic and query-string keys work over the loopback HTTP; the
``plain`` store has ``ssl=False`` and, like WooCommerce over plain HTTP, ignores Basic/query keys and only
accepts OAuth 1.0a. For the OAuth base string WooCommerce uses ``home_url`` with the scheme from ``is_ssl()``;
the sandbox accepts a signature over either the https form or the URL actually requested, and either
WooCommerce's single-encoded parameter string or the RFC 5849 double-encoded one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from sandbox._http import Request
from sandbox.woocommerce.state import ApiKey, Store

OAUTH_WINDOW = 15 * 60
OAUTH_REQUIRED = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in '
    'the password field."'
)


@dataclass
class AuthError(Exception):
    """An authentication error set by WC_REST_Authentication (always status 401)."""

    code: str
    message: str
    www_authenticate: bool = False


def is_ssl(store: Store, request: Request) -> bool:
    """WordPress ``is_ssl()`` for this store."""
    return store.ssl or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def rfc3986(value: str) -> str:
    """PHP ``rawurlencode`` (RFC 3986)."""
    return quote(value, safe="~")


def authenticate(store: Store, request: Request, *, url_path: str) -> ApiKey | None:
    """The key authenticating this request, None if unauthenticated; raises AuthError."""
    if is_ssl(store, request):
        key = _basic(store, request)
        if key is not None:
            return key
    return _oauth(store, request, url_path=url_path)


def _basic(store: Store, request: Request) -> ApiKey | None:
    ck = request.args.get("consumer_key", "")
    cs = request.args.get("consumer_secret", "")
    if not (ck and cs) and request.authorization is not None and request.authorization.type == "basic":
        ck = request.authorization.username or ""
        cs = request.authorization.password or ""
    if not ck or not cs:
        return None
    key = store.key_by_consumer_key(ck)
    if key is None:
        return None
    if not hmac.compare_digest(key.consumer_secret, cs):
        raise AuthError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", www_authenticate=True)
    return key


def _oauth_params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {k: v for k, v in request.args.items()}
    params.update({k: v for k, v in request.form.items()})
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("oauth "):
        for part in header[6:].split(","):
            if "=" in part:
                k, v = part.strip().split("=", 1)
                params[unquote(k.strip())] = unquote(v.strip().strip('"'))
    return params


def _oauth(store: Store, request: Request, *, url_path: str) -> ApiKey | None:
    params = _oauth_params(request)
    missing = [p for p in OAUTH_REQUIRED if not params.get(p)]
    if len(missing) == len(OAUTH_REQUIRED):
        return None
    if missing:
        raise AuthError(
            "woocommerce_rest_authentication_missing_parameter", f"Missing OAuth parameter(s) {', '.join(missing)}"
        )
    key = store.key_by_consumer_key(params["oauth_consumer_key"])
    if key is None:
        raise AuthError("woocommerce_rest_authentication_error", "Consumer key is invalid.")
    _check_signature(store, request, key, params, url_path=url_path)
    try:
        timestamp = int(params["oauth_timestamp"])
    except ValueError:
        raise AuthError("woocommerce_rest_authentication_error", "Invalid timestamp.") from None
    now = int(time.time())
    if timestamp < now - OAUTH_WINDOW or timestamp > now + OAUTH_WINDOW:
        raise AuthError("woocommerce_rest_authentication_error", "Invalid timestamp.")
    if store.seen_nonce(key, params["oauth_nonce"], timestamp, OAUTH_WINDOW):
        raise AuthError("woocommerce_rest_authentication_error", "Invalid nonce - nonce has already been used.")
    return key


def signature_base_strings(method: str, url: str, params: dict[str, str]) -> list[str]:
    """The WooCommerce base string and the RFC 5849 one for ``params`` (without oauth_signature)."""
    items = sorted((rfc3986(k), rfc3986(v)) for k, v in params.items() if k != "oauth_signature")
    woo = "%26".join(f"{k}%3D{v}" for k, v in items)
    rfc = rfc3986("&".join(f"{k}={v}" for k, v in items))
    base = rfc3986(url)
    return [f"{method.upper()}&{base}&{woo}", f"{method.upper()}&{base}&{rfc}"]


def sign(base_string: str, consumer_secret: str, method: str) -> str:
    """base64 HMAC of the base string with key ``consumer_secret&``."""
    algo = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
    return base64.b64encode(hmac.new(f"{consumer_secret}&".encode(), base_string.encode(), algo).digest()).decode()


def _check_signature(store: Store, request: Request, key: ApiKey, params: dict[str, str], *, url_path: str) -> None:
    method = params["oauth_signature_method"]
    if method not in ("HMAC-SHA1", "HMAC-SHA256"):
        raise AuthError("woocommerce_rest_authentication_error", "Invalid signature - signature method is invalid.")
    given = unquote(params["oauth_signature"].replace(" ", "+"))
    host = request.host
    urls = {
        f"{'https' if is_ssl(store, request) else 'http'}://{host}{url_path}",
        f"{request.scheme}://{host}{url_path}",
    }
    for url in urls:
        for base in signature_base_strings(request.method, url, params):
            if hmac.compare_digest(sign(base, key.consumer_secret, method), given):
                return
    raise AuthError("woocommerce_rest_authentication_error", "Invalid signature - provided signature does not match.")


def check_permissions(key: ApiKey, method: str) -> None:
    """Per-method key permission check (read / write / read_write)."""
    if method in ("HEAD", "GET"):
        if key.permissions not in ("read", "read_write"):
            raise AuthError(
                "woocommerce_rest_authentication_error", "The API key provided does not have read permissions."
            )
    elif method in ("POST", "PUT", "PATCH", "DELETE"):
        if key.permissions not in ("write", "read_write"):
            raise AuthError(
                "woocommerce_rest_authentication_error", "The API key provided does not have write permissions."
            )
    elif method != "OPTIONS":
        raise AuthError("woocommerce_rest_authentication_error", "Unknown request method.")
