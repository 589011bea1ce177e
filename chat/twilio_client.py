"""Outbound SMS through Twilio's REST API (``POST /2010-04-01/Accounts/{Sid}/Messages.json``).

HTTP Basic ``AccountSid:AuthToken``, form-encoded ``To``/``From``/``Body``. Retries 429, 5xx, timeouts and
connection errors with exponential backoff, honouring ``Retry-After``; then raises the error families the
rest of the product understands::

    ProviderRetryable    still 429/5xx/timeouts after the last attempt
    CredentialsExpired   401/403 (wrong or revoked account credentials)
    ProviderRejected     any other 4xx (e.g. 21211 invalid number, 21610 recipient opted out)

Neither the message body nor the credentials are ever logged or put into exceptions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from core.errors import CredentialsExpired, ProviderRejected, ProviderRetryable

log = logging.getLogger("omniops.chat.twilio")

BASE_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_ATTEMPTS = 4
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class TwilioClient:
    """Send SMS with retry. ``http`` is injected (tests pass a client for a local server)."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str = BASE_URL,
        http: httpx.Client | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from = from_number
        self._url = f"{base_url.rstrip('/')}/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        self._http = http or httpx.Client(timeout=TIMEOUT)
        self._owns_http = http is None
        self._attempts = max(1, max_attempts)
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"TwilioClient(account_sid={self._sid!r}, auth_token=<hidden>)"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def send_sms(self, *, to: str, body: str) -> str:
        """Send ``body`` to ``to``; returns the message SID (``SM…``). Raises the families above."""
        form = {"To": to, "From": self._from, "Body": body[:1600]}
        last_retry_after: float | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._http.post(self._url, data=form, auth=self._auth)
            except (httpx.TimeoutException, httpx.TransportError) as err:
                log.warning("twilio send failed", extra={"attempt": attempt, "error": type(err).__name__})
                if attempt == self._attempts:
                    raise ProviderRetryable("Twilio did not answer.", provider="twilio") from None
                self._sleep(self._delay(attempt, None))
                continue
            if response.status_code in (200, 201):
                data: dict[str, Any] = response.json()
                sid = str(data.get("sid", ""))
                log.info("sms sent", extra={"sid": sid, "status": data.get("status"), "attempt": attempt})
                return sid
            code = self._error_code(response)
            if response.status_code in _RETRY_STATUSES:
                last_retry_after = _retry_after(response)
                log.warning(
                    "twilio send retryable",
                    extra={"attempt": attempt, "http_status": response.status_code, "twilio_code": code},
                )
                if attempt == self._attempts:
                    raise ProviderRetryable(
                        "Twilio is busy; try again later.",
                        provider="twilio",
                        http_status=response.status_code,
                        provider_code=code,
                        retry_after=last_retry_after,
                    )
                self._sleep(self._delay(attempt, last_retry_after))
                continue
            log.warning("twilio rejected sms", extra={"http_status": response.status_code, "twilio_code": code})
            if response.status_code in (401, 403):
                raise CredentialsExpired(
                    "Twilio refused the account credentials.", provider="twilio", http_status=response.status_code
                )
            raise ProviderRejected(
                f"Twilio rejected the message (error {code or response.status_code}).",
                provider="twilio",
                http_status=response.status_code,
                provider_code=code,
            )
        raise ProviderRetryable("Twilio did not accept the message.", provider="twilio")  # pragma: no cover

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_backoff)
        return float(min(self._backoff * (2 ** (attempt - 1)), self._max_backoff))

    @staticmethod
    def _error_code(response: httpx.Response) -> str | None:
        try:
            data = response.json()
        except ValueError:
            return None
        code = data.get("code") if isinstance(data, dict) else None
        return str(code) if code is not None else None
