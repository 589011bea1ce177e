"""Run-bound tokens for third-party round trips (WooCommerce wc-auth ``user_id``, OAuth ``state``).

A token names the run and the purpose and is signed with the deployment's secret, so a callback can tell
which run it belongs to without trusting anything else in the request. Single use is enforced by whoever
consumes it (the gateway records consumed tokens in a table with a unique key).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from core.errors import Forbidden


class RunTokens:
    """Issue and check ``<run_id>.<random>.<mac>`` tokens for one purpose (e.g. ``wc-auth``)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("RunTokens needs a secret of at least 16 bytes")
        self._secret = secret

    def _mac(self, purpose: str, body: str) -> str:
        return hmac.new(self._secret, f"{purpose}|{body}".encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, run_id: str, purpose: str) -> str:
        body = f"{run_id}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._mac(purpose, body)}"

    def run_id(self, token: str, purpose: str) -> str:
        """The run a genuine token names; raises ``Forbidden`` for anything forged or malformed."""
        body, _, mac = token.rpartition(".")
        if not body or "." not in body or not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise Forbidden("This link or callback is not valid.")
        return body.split(".", 1)[0]
