"""Outbound Alexa APIs: progressive responses (in-session) and Proactive Events (out-of-session nudges).

Both use an injected ``httpx.Client`` and injectable base URLs (the tests and the sandbox point them at a
local server). Failures map to the provider error families: 5xx/429/transport → ``ProviderRetryable``,
401/403 → ``CredentialsExpired``, other 4xx → ``ProviderRejected``. Tokens never appear in messages.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.errors import CredentialsExpired, ProviderRejected, ProviderRetryable
from voice.alexa.render import ssml

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ALEXA_API = "https://api.amazonalexa.com"
PROACTIVE_SCOPE = "alexa::proactive_events"
MESSAGE_ALERT = "AMAZON.MessageAlert.Activated"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check(resp: httpx.Response, *, ok: Sequence[int], what: str) -> None:
    if resp.status_code in ok:
        return
    kw: dict[str, Any] = {"provider": "alexa", "http_status": resp.status_code}
    if resp.status_code == 429 or resp.status_code >= 500:
        raise ProviderRetryable(f"{what} failed with HTTP {resp.status_code}", **kw)
    if resp.status_code in (401, 403):
        raise CredentialsExpired(f"{what} was not authorized (HTTP {resp.status_code})", **kw)
    raise ProviderRejected(f"{what} was rejected with HTTP {resp.status_code}", **kw)


def _post(client: httpx.Client, url: str, what: str, **kw: Any) -> httpx.Response:
    try:
        return client.post(url, **kw)
    except httpx.HTTPError as err:
        raise ProviderRetryable(f"{what} failed: {type(err).__name__}", provider="alexa") from err


class ProgressiveResponseClient:
    """``POST {apiEndpoint}/v1/directives`` with ``VoicePlayer.Speak`` while the skill is still working."""

    def __init__(self, *, client: httpx.Client | None = None, timeout: float = 1.0) -> None:
        self._client = client or httpx.Client(timeout=timeout)

    def speak(self, *, api_endpoint: str, api_access_token: str, request_id: str, text: str) -> None:
        """Send one progressive response (plain ``text``, SSML-escaped here); 204 is success."""
        body = {
            "header": {"requestId": request_id},
            "directive": {"type": "VoicePlayer.Speak", "speech": ssml(text)},
        }
        resp = _post(
            self._client,
            api_endpoint.rstrip("/") + "/v1/directives",
            "progressive response",
            json=body,
            headers={"Authorization": f"Bearer {api_access_token}"},
        )
        _check(resp, ok=(200, 204), what="progressive response")


class ProactiveEventsClient:
    """Send ``AMAZON.MessageAlert.Activated`` nudges; LWA client-credentials token cached until expiry."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client: httpx.Client | None = None,
        token_url: str = LWA_TOKEN_URL,
        api_base: str = ALEXA_API,
        stage: str = "development",
        clock: Callable[[], datetime] = _utcnow,
        creator_name: str = "OmniOps",
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._client = client or httpx.Client(timeout=5.0)
        self._token_url = token_url
        self._api_base = api_base.rstrip("/")
        self._stage = stage
        self._clock = clock
        self._creator = creator_name
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ProactiveEventsClient(api_base={self._api_base!r}, stage={self._stage!r})"

    def _access_token(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._token[1]:
                return self._token[0]
            resp = _post(
                self._client,
                self._token_url,
                "LWA token request",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "scope": PROACTIVE_SCOPE,
                },
            )
            _check(resp, ok=(200,), what="LWA token request")
            data = resp.json()
            expires = now + timedelta(seconds=max(int(data.get("expires_in", 3600)) - 60, 0))
            self._token = (str(data["access_token"]), expires)
            return self._token[0]

    @property
    def events_url(self) -> str:
        """The development-stage or live events URL."""
        suffix = "/stages/development" if self._stage == "development" else ""
        return f"{self._api_base}/v1/proactiveEvents{suffix}"

    def message_alert(
        self,
        *,
        user_id: str,
        reference_id: str | None = None,
        count: int = 1,
        locales: Sequence[str] = ("en-US",),
        lifetime: timedelta = timedelta(hours=1),
    ) -> str:
        """Nudge one Alexa user ("you have a new message from OmniOps"); returns the reference id."""
        now = self._clock()
        ref = reference_id or str(uuid.uuid4())
        body = {
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.00Z"),
            "referenceId": ref,
            "expiryTime": (now + lifetime).strftime("%Y-%m-%dT%H:%M:%S.00Z"),
            "event": {
                "name": MESSAGE_ALERT,
                "payload": {
                    "state": {"status": "UNREAD", "freshness": "NEW"},
                    "messageGroup": {"creator": {"name": self._creator}, "count": count, "urgency": "URGENT"},
                },
            },
            "localizedAttributes": [{"locale": loc} for loc in locales],
            "relevantAudience": {"type": "Unicast", "payload": {"user": user_id}},
        }
        resp = _post(
            self._client,
            self.events_url,
            "proactive event",
            json=body,
            headers={"Authorization": f"Bearer {self._access_token()}"},
        )
        if resp.status_code in (401, 403):
            with self._lock:
                self._token = None
        _check(resp, ok=(202,), what="proactive event")
        return ref
