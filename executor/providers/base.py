"""What every provider client shares: mapping HTTP outcomes to the three error families the runner steers by.

    ProviderRetryable   429, 5xx, 409 (concurrent idempotent use), timeouts, connection errors — retry with backoff
    ProviderRejected    other 4xx — fail now and compensate
    CredentialsExpired  401/403 that mean the key is expired or revoked — hand to self-healing

Messages carry the provider's own reason (never request bodies or credentials).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from core.errors import CredentialsExpired, ProviderError, ProviderRejected, ProviderRetryable
from executor.http import parse_retry_after

DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


def send(
    provider: str,
    call: Callable[[], httpx.Response],
    *,
    reason: Callable[[httpx.Response], tuple[str, str | None]],
    credentials_expired: Callable[[httpx.Response], bool] = lambda r: r.status_code == 401,
) -> httpx.Response:
    """Perform ``call`` and return its 2xx response, or raise the right error family.

    ``reason`` extracts (message, provider code) from an error response in the provider's own format.
    """
    try:
        resp = call()
    except httpx.TimeoutException as err:
        raise ProviderRetryable(f"{provider} did not answer in time", provider=provider) from err
    except httpx.TransportError as err:
        raise ProviderRetryable(f"could not reach {provider} ({type(err).__name__})", provider=provider) from err
    if resp.is_success:
        return resp
    message, code = reason(resp)
    status = resp.status_code
    kwargs: dict[str, Any] = {"provider": provider, "http_status": status, "provider_code": code}
    if status == 429 or status >= 500 or status == 409:
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        raise ProviderRetryable(f"{provider}: {message}", retry_after=retry_after, **kwargs)
    if credentials_expired(resp):
        raise CredentialsExpired(f"{provider}: {message}", **kwargs)
    if 400 <= status < 500:
        raise ProviderRejected(f"{provider}: {message}", **kwargs)
    raise ProviderError(f"{provider}: unexpected HTTP {status}", **kwargs)


def json_reason(resp: httpx.Response, *, message_keys: tuple[str, ...] = ("message",)) -> dict[str, Any]:
    """The JSON body of an error response, or {} when it isn't JSON."""
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
