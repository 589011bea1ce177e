"""HTTP helpers for providers: one call maps every failure to a core error family.

Transport errors and timeouts, 429 and 5xx are ``ProviderRetryable`` (with ``Retry-After`` parsed);
401 is ``CredentialsExpired``; other 4xx are ``ProviderRejected``. Messages never include bodies or headers
that might carry secrets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from core.errors import CredentialsExpired, ProviderRejected, ProviderRetryable


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def call(client: httpx.Client, method: str, url: str, *, provider: str, **kwargs: Any) -> httpx.Response:
    """Send one request; return the 2xx/3xx response or raise the matching provider error family."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as err:
        raise ProviderRetryable(f"{provider} did not answer in time", provider=provider) from err
    except httpx.TransportError as err:
        raise ProviderRetryable(f"could not reach {provider}", provider=provider) from err
    status = response.status_code
    if status == 429 or status >= 500:
        raise ProviderRetryable(
            f"{provider} is busy (HTTP {status})",
            provider=provider,
            http_status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status == 401:
        raise CredentialsExpired(f"{provider} refused the credentials", provider=provider, http_status=status)
    if status >= 400:
        raise ProviderRejected(
            f"{provider} rejected the request (HTTP {status})", provider=provider, http_status=status
        )
    return response
