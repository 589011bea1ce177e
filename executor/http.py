"""HTTP helpers for providers: one call maps every failure to a core error family.

``parse_retry_after`` reads ``Retry-After``; ``call`` sends one request through the shared error mapping of
``executor.providers.base.send`` (retryable / rejected / credentials expired). Messages never include bodies
or headers that might carry secrets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


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
    """Send one request; return the 2xx response or raise the matching provider error family."""
    from executor.providers.base import send  # the one mapping of HTTP outcomes to error families

    return send(provider, lambda: client.request(method, url, **kwargs), reason=_generic_reason)


def _generic_reason(response: httpx.Response) -> tuple[str, str | None]:
    return f"HTTP {response.status_code}", None
