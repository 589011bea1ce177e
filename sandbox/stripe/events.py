"""Stripe events and their delivery to registered webhook endpoints, signed with ``Stripe-Signature``.

``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(endpoint secret, f"{t}.{payload}")>`` — the scheme the official
SDK's ``stripe.Webhook.construct_event`` verifies (not in provider-apis.md; taken from the SDK's verifier).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


def stripe_signature(secret: str, payload: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class EndpointTarget:
    """Where and how to deliver: a registered endpoint's URL, secret and filters."""

    id: str
    url: str
    secret: str
    enabled_events: list[str]
    connect: bool
    account_id: str
    active: bool = True

    def wants(self, event_type: str) -> bool:
        """True if the endpoint subscribed to this event type (or ``*``)."""
        return self.active and ("*" in self.enabled_events or event_type in self.enabled_events)


@dataclass
class EventDelivery:
    """One delivery attempt."""

    endpoint_id: str
    event_id: str
    type: str
    status: int | None
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class EventDispatcher:
    """Builds events and delivers them on one background thread."""

    def __init__(self, *, timeout: float = 5.0) -> None:
        self._queue: queue.Queue[tuple[EndpointTarget, bytes, str, str]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._timeout = timeout
        self.targets: dict[str, EndpointTarget] = {}
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[EventDelivery] = []

    def register(self, target: EndpointTarget) -> None:
        """Add a delivery target (on webhook endpoint creation)."""
        with self._lock:
            self.targets[target.id] = target

    def unregister(self, endpoint_id: str) -> None:
        """Stop delivering to an endpoint (on deletion)."""
        with self._lock:
            self.targets.pop(endpoint_id, None)

    def emit(self, *, platform_id: str, account_id: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Record an event and queue deliveries to every matching endpoint."""
        event: dict[str, Any] = {
            "id": "evt_" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b"),
            "object": "event",
            "api_version": "2025-10-29.clover",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        connected = account_id != platform_id
        if connected:
            event["account"] = account_id
        with self._lock:
            targets = [
                t
                for t in self.targets.values()
                if t.wants(event_type) and (t.connect if connected else t.account_id == account_id)
            ]
            event["pending_webhooks"] = len(targets)
            self.events.append(event)
        payload = json.dumps(event, indent=2).encode()
        for target in targets:
            self._start()
            self._queue.put((target, payload, event["id"], event_type))
        return event

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="stripe-events", daemon=True)
                self._thread.start()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until queued deliveries were attempted (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        client = httpx.Client(timeout=self._timeout)
        while True:
            target, payload, event_id, event_type = self._queue.get()
            try:
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                    "Stripe-Signature": stripe_signature(target.secret, payload, int(time.time())),
                }
                try:
                    status: int | None = client.post(target.url, content=payload, headers=headers).status_code
                except httpx.HTTPError:
                    status = None
                with self._lock:
                    self.deliveries.append(EventDelivery(target.id, event_id, event_type, status, payload, headers))
            finally:
                self._queue.task_done()
