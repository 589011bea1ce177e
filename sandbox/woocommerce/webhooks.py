"""Webhook delivery: a background worker POSTing JSON with WooCommerce's ``X-WC-Webhook-*`` headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sandbox.woocommerce.state import Store, Webhook

MAX_FAILURES = 5


def webhook_signature(body: bytes, secret: str) -> str:
    """``X-WC-Webhook-Signature``: base64(HMAC-SHA256(key=secret, msg=raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Delivery:
    """One recorded delivery attempt."""

    store: str
    webhook_id: int
    topic: str
    delivery_id: str
    url: str
    status: int | None
    body: bytes
    headers: dict[str, str]
    ping: bool = False
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class WebhookDispatcher:
    """Delivers webhooks in order on one background thread; ``drain()`` waits for the queue."""

    def __init__(self, *, timeout: float = 5.0) -> None:
        self._queue: queue.Queue[tuple[Store, Webhook, bytes, bool] | None] = queue.Queue()
        self._timeout = timeout
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self._client: httpx.Client | None = None

    def enqueue(self, store: Store, hook: Webhook, payload: dict[str, Any]) -> None:
        """Queue a JSON delivery of ``payload`` to ``hook``."""
        self._start()
        self._queue.put((store, hook, json.dumps(payload).encode(), False))

    def enqueue_ping(self, store: Store, hook: Webhook) -> None:
        """Queue the creation ping (form-encoded ``webhook_id=<id>``)."""
        self._start()
        self._queue.put((store, hook, f"webhook_id={hook.id}".encode(), True))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="woo-webhooks", daemon=True)
                self._thread.start()

    def drain(self, timeout: float = 10.0) -> None:
        """Block until every queued delivery was attempted (or ``timeout`` seconds passed)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        self._client = httpx.Client(timeout=self._timeout)
        while True:
            item = self._queue.get()
            try:
                if item is not None:
                    self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, store: Store, hook: Webhook, body: bytes, ping: bool) -> None:
        delivery_id = str(uuid.uuid4().int % 10**6)
        headers = {
            "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
            "Content-Type": "application/x-www-form-urlencoded" if ping else "application/json",
            "X-WC-Webhook-Source": f"{store.base_url}/",
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": hook.resource,
            "X-WC-Webhook-Event": hook.event,
            "X-WC-Webhook-Signature": webhook_signature(body, hook.secret),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": delivery_id,
        }
        status: int | None
        assert self._client is not None
        try:
            resp = self._client.post(hook.delivery_url, content=body, headers=headers)
            status = resp.status_code
        except httpx.HTTPError:
            status = None
        ok = status is not None and 200 <= status < 300
        with store.lock:
            if ok:
                hook.failure_count = 0
            elif not ping:
                hook.failure_count += 1
                if hook.failure_count >= MAX_FAILURES:
                    hook.status = "disabled"
        with self._lock:
            self.deliveries.append(
                Delivery(store.slug, hook.id, hook.topic, delivery_id, hook.delivery_url, status, body, headers, ping)
            )
        store.faults.count("woocommerce.webhooks_delivered" if ok else "woocommerce.webhooks_failed")
