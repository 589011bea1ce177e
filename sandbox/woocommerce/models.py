"""WooCommerce records: API keys, webhooks, users, and the constants the seeded stores use."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ADJECTIVES = ("Classic", "Organic", "Vintage", "Cozy", "Bold", "Sleek", "Rustic", "Bright", "Soft", "Urban")
NOUNS = ("Mug", "T-Shirt", "Hoodie", "Candle", "Notebook", "Tote Bag", "Cap", "Poster", "Scarf", "Lamp", "Socks")
CATEGORIES = ((15, "Clothing", "clothing"), (16, "Home", "home"), (17, "Accessories", "accessories"))
EPOCH = datetime(2024, 1, 1, 9, 0, 0, tzinfo=UTC)
WC_VERSION = "9.4.2"
WP_VERSION = "6.7.1"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def wc_api_hash(data: str) -> str:
    """WooCommerce's ``wc_api_hash``: HMAC-SHA256 with key 'wc-api' (how consumer keys are stored)."""
    return hmac.new(b"wc-api", data.encode(), hashlib.sha256).hexdigest()


@dataclass
class ApiKey:
    """A REST API key row (``woocommerce_api_keys``)."""

    key_id: int
    user_id: int
    description: str
    permissions: str
    consumer_key_hash: str
    consumer_secret: str
    truncated_key: str
    nonces: dict[str, int] = field(default_factory=dict)
    last_access: str | None = None


@dataclass
class Webhook:
    """A webhook row."""

    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str
    created: datetime
    modified: datetime
    failure_count: int = 0
    api_version: str = "wp_api_v3"

    @property
    def resource(self) -> str:
        """``order`` for ``order.updated``."""
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        """``updated`` for ``order.updated``."""
        return self.topic.split(".", 1)[1] if "." in self.topic else ""

    def to_json(self, store_url: str) -> dict[str, Any]:
        """REST representation (secret is write-only)."""
        base = f"{store_url}/wp-json/wc/v3/webhooks"
        hooks = (
            [f"woocommerce_{self.resource}_{self.event}"]
            if self.resource in ("order", "product", "customer", "coupon")
            else []
        )
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": self.resource,
            "event": self.event,
            "hooks": hooks,
            "delivery_url": self.delivery_url,
            "date_created": iso(self.created),
            "date_created_gmt": iso(self.created),
            "date_modified": iso(self.modified),
            "date_modified_gmt": iso(self.modified),
            "_links": {"self": [{"href": f"{base}/{self.id}"}], "collection": [{"href": base}]},
        }


@dataclass
class User:
    """A WordPress user with ``manage_woocommerce``."""

    id: int
    login: str
    password: str
    email: str
