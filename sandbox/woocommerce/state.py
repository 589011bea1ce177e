"""WooCommerce simulator state: stores, seeded catalog, API keys, webhooks, admin sessions."""

from __future__ import annotations

import hmac
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.faults import Faults
from sandbox.woocommerce.models import (
    ADJECTIVES,
    CATEGORIES,
    EPOCH,
    NOUNS,
    WC_VERSION,
    WP_VERSION,
    ApiKey,
    User,
    Webhook,
    iso,
    wc_api_hash,
)

__all__ = ["WC_VERSION", "WP_VERSION", "ApiKey", "Store", "User", "Webhook", "wc_api_hash"]


class Store:
    """One WooCommerce store. Products of seeded stores are generated lazily from the seed."""

    def __init__(self, *, slug: str, name: str, product_count: int, seed: int, ssl: bool, faults: Faults) -> None:
        self.slug = slug
        self.name = name
        self.seed = seed
        self.ssl = ssl
        self.faults = faults
        self.lock = threading.RLock()
        self.base_url = ""  # set by the app on each request (store URL as the client sees it)
        self._generated = product_count
        self._products: dict[int, dict[str, Any]] = {}
        self._deleted: set[int] = set()
        self._next_product_id = product_count + 1
        self.users = {1: User(1, "admin", f"{slug}-admin-pass", f"admin@{slug}.example")}
        self.keys: dict[int, ApiKey] = {}
        self._next_key_id = 1
        self.webhooks: dict[int, Webhook] = {}
        self._next_webhook_id = 1
        self.sessions: dict[str, int] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.customers: dict[int, dict[str, Any]] = {}
        self._seed_people(min(product_count // 4, 200))
        rng = random.Random(f"{seed}:{slug}:key")
        self.seeded_key = self.create_key(
            user_id=1,
            description="Sandbox seeded key",
            permissions="read_write",
            consumer_key="ck_" + f"{rng.getrandbits(160):040x}",
            consumer_secret="cs_" + f"{rng.getrandbits(160):040x}",
            count=False,
        )

    # ---- products ------------------------------------------------------------------------------
    def _generate(self, pid: int) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:{self.slug}:product:{pid}")
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {pid}"
        cents = rng.randrange(500, 15000)
        sale = rng.random() < 0.2
        cat = CATEGORIES[pid % len(CATEGORIES)]
        stock = rng.randrange(0, 80)
        created = EPOCH + timedelta(minutes=pid)
        return self._product_json(
            pid,
            {
                "name": name,
                "sku": f"{self.slug.upper()}-{pid:05d}",
                "regular_price": f"{cents / 100:.2f}",
                "sale_price": f"{cents * 0.8 / 100:.2f}" if sale else "",
                "stock_quantity": stock,
                "manage_stock": True,
                "categories": [{"id": cat[0], "name": cat[1], "slug": cat[2]}],
                "description": f"<p>{name} from the {self.name} catalog.</p>",
                "short_description": f"<p>{name}.</p>",
                "status": "publish",
                "featured": pid % 11 == 0,
                "total_sales": rng.randrange(0, 300),
            },
            created=created,
        )

    def _product_json(self, pid: int, data: dict[str, Any], *, created: datetime) -> dict[str, Any]:
        name = str(data.get("name", f"Product {pid}"))
        regular = str(data.get("regular_price", ""))
        sale = str(data.get("sale_price", ""))
        price = sale or regular
        qty = data.get("stock_quantity")
        manage = bool(data.get("manage_stock", qty is not None))
        stock_status = data.get("stock_status") or (
            "outofstock" if manage and qty is not None and int(qty) <= 0 else "instock"
        )
        slug = data.get("slug") or "-".join(name.lower().split())
        return {
            "id": pid,
            "name": name,
            "slug": slug,
            "permalink": f"{self.base_url}/product/{slug}/",
            "date_created": iso(created),
            "date_created_gmt": iso(created),
            "date_modified": iso(created),
            "date_modified_gmt": iso(created),
            "type": data.get("type", "simple"),
            "status": data.get("status", "publish"),
            "featured": bool(data.get("featured", False)),
            "catalog_visibility": data.get("catalog_visibility", "visible"),
            "description": data.get("description", ""),
            "short_description": data.get("short_description", ""),
            "sku": data.get("sku", ""),
            "price": price,
            "regular_price": regular,
            "sale_price": sale,
            "on_sale": bool(sale),
            "purchasable": bool(price),
            "total_sales": int(data.get("total_sales", 0)),
            "virtual": bool(data.get("virtual", False)),
            "downloadable": bool(data.get("downloadable", False)),
            "tax_status": data.get("tax_status", "taxable"),
            "tax_class": data.get("tax_class", ""),
            "manage_stock": manage,
            "stock_quantity": int(qty) if qty is not None and manage else None,
            "stock_status": stock_status,
            "weight": data.get("weight", ""),
            "dimensions": data.get("dimensions", {"length": "", "width": "", "height": ""}),
            "categories": data.get("categories", []),
            "tags": data.get("tags", []),
            "images": data.get("images", []),
            "attributes": data.get("attributes", []),
            "variations": [],
            "meta_data": data.get("meta_data", []),
        }

    def product_ids(self) -> list[int]:
        """Live product ids, ascending (ids grow with creation date)."""
        with self.lock:
            ids = [i for i in range(1, self._generated + 1) if i not in self._deleted]
            ids.extend(i for i in self._products if i > self._generated and i not in self._deleted)
            return sorted(set(ids))

    def product_count(self) -> int:
        """Number of live products (cheap for the lazily generated catalog)."""
        with self.lock:
            extra = sum(1 for i in self._products if i > self._generated and i not in self._deleted)
            gone = sum(1 for i in self._deleted if i <= self._generated)
            return self._generated - gone + extra

    def get_product(self, pid: int) -> dict[str, Any] | None:
        """A product by id (None if missing or deleted)."""
        with self.lock:
            if pid in self._deleted:
                return None
            if pid in self._products:
                return self._with_links(self._products[pid])
            if 1 <= pid <= self._generated:
                return self._with_links(self._generate(pid))
            return None

    def iter_products(self, ids: list[int]) -> Iterator[dict[str, Any]]:
        """Products for ``ids`` (skipping missing ones)."""
        for pid in ids:
            p = self.get_product(pid)
            if p is not None:
                yield p

    def _with_links(self, p: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.base_url}/wp-json/wc/v3/products"
        out = dict(p)
        out["permalink"] = f"{self.base_url}/product/{p['slug']}/"
        out["_links"] = {"self": [{"href": f"{base}/{p['id']}"}], "collection": [{"href": base}]}
        return out

    def create_product(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a product (Python API and REST); fires ``product.created`` webhooks."""
        with self.lock:
            pid = self._next_product_id
            self._next_product_id += 1
            created = datetime.now(UTC).replace(microsecond=0)
            self._products[pid] = self._product_json(pid, data, created=created)
            product = self._with_links(self._products[pid])
        self.faults.count("woocommerce.products_created")
        self.fire("product.created", product)
        return product

    def update_product(self, pid: int, data: dict[str, Any]) -> dict[str, Any] | None:
        """Update fields of a product; fires ``product.updated``. None if missing."""
        with self.lock:
            current = self.get_product(pid)
            if current is None:
                return None
            merged = {**current, **data}
            if "regular_price" in data or "sale_price" in data:
                merged["price"] = merged.get("sale_price") or merged.get("regular_price", "")
                merged["on_sale"] = bool(merged.get("sale_price"))
            merged.pop("_links", None)
            merged["date_modified"] = merged["date_modified_gmt"] = iso(datetime.now(UTC))
            self._products[pid] = merged
            product = self._with_links(merged)
        self.faults.count("woocommerce.products_updated")
        self.fire("product.updated", product)
        return product

    def delete_product(self, pid: int, *, force: bool = True) -> dict[str, Any] | None:
        """Delete (force) or trash a product; fires ``product.deleted`` on delete. None if missing."""
        if not force:
            return self.update_product(pid, {"status": "trash"})
        with self.lock:
            current = self.get_product(pid)
            if current is None:
                return None
            self._deleted.add(pid)
        self.faults.count("woocommerce.products_deleted")
        self.fire("product.deleted", {"id": pid})
        return current

    # ---- orders / customers --------------------------------------------------------------------
    def _seed_people(self, n_orders: int) -> None:
        rng = random.Random(f"{self.seed}:{self.slug}:orders")
        first = ("Ada", "Grace", "Linus", "Mia", "Noah", "Olivia", "Sam", "Zoe")
        last = ("Lovelace", "Hopper", "Park", "Garcia", "Smith", "Chen", "Okafor", "Novak")
        for cid in range(1, min(n_orders, 20) + 1):
            fn, ln = rng.choice(first), rng.choice(last)
            self.customers[cid] = {
                "id": cid,
                "email": f"{fn.lower()}.{ln.lower()}{cid}@example.com",
                "first_name": fn,
                "last_name": ln,
                "username": f"{fn.lower()}{cid}",
                "role": "customer",
                "date_created": iso(EPOCH + timedelta(days=cid)),
                "billing": {"first_name": fn, "last_name": ln, "country": "US"},
            }
        statuses = ("processing", "completed", "completed", "on-hold", "pending", "refunded")
        for oid in range(1, n_orders + 1):
            pid = rng.randrange(1, self._generated + 1)
            qty = rng.randrange(1, 4)
            total = f"{qty * rng.randrange(500, 9000) / 100:.2f}"
            cust = (oid % max(len(self.customers), 1)) + 1 if self.customers else 0
            created = EPOCH + timedelta(hours=oid * 7)
            self.orders[oid] = {
                "id": oid,
                "parent_id": 0,
                "number": str(1000 + oid),
                "order_key": f"wc_order_{rng.getrandbits(48):012x}",
                "status": rng.choice(statuses),
                "currency": "USD",
                "date_created": iso(created),
                "date_created_gmt": iso(created),
                "date_modified": iso(created),
                "date_modified_gmt": iso(created),
                "total": total,
                "total_tax": "0.00",
                "customer_id": cust,
                "billing": dict(self.customers.get(cust, {}).get("billing", {})),
                "payment_method": "stripe",
                "payment_method_title": "Credit card",
                "line_items": [{"id": oid * 10, "product_id": pid, "quantity": qty, "total": total}],
            }

    def create_order(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create an order; fires ``order.created``."""
        with self.lock:
            oid = max(self.orders, default=0) + 1
            now = iso(datetime.now(UTC))
            order = {
                "id": oid,
                "parent_id": 0,
                "number": str(1000 + oid),
                "status": data.get("status", "pending"),
                "currency": data.get("currency", "USD"),
                "date_created": now,
                "date_created_gmt": now,
                "date_modified": now,
                "date_modified_gmt": now,
                "total": str(data.get("total", "0.00")),
                "total_tax": "0.00",
                "customer_id": int(data.get("customer_id", 0)),
                "billing": data.get("billing", {}),
                "payment_method": data.get("payment_method", ""),
                "payment_method_title": data.get("payment_method_title", ""),
                "line_items": data.get("line_items", []),
            }
            self.orders[oid] = order
        self.faults.count("woocommerce.orders_created")
        self.fire("order.created", order)
        return dict(order)

    def update_order(self, oid: int, data: dict[str, Any]) -> dict[str, Any] | None:
        """Update an order; fires ``order.updated``."""
        with self.lock:
            if oid not in self.orders:
                return None
            self.orders[oid].update({k: v for k, v in data.items() if k != "id"})
            self.orders[oid]["date_modified"] = self.orders[oid]["date_modified_gmt"] = iso(datetime.now(UTC))
            order = dict(self.orders[oid])
        self.fire("order.updated", order)
        return order

    # ---- keys ----------------------------------------------------------------------------------
    def create_key(
        self,
        *,
        user_id: int,
        description: str,
        permissions: str,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        count: bool = True,
    ) -> tuple[ApiKey, str]:
        """Create a key; returns the row and the plain consumer key (shown once)."""
        ck = consumer_key or "ck_" + secrets.token_hex(20)
        cs = consumer_secret or "cs_" + secrets.token_hex(20)
        with self.lock:
            key = ApiKey(self._next_key_id, user_id, description, permissions, wc_api_hash(ck), cs, ck[-7:])
            self._next_key_id += 1
            self.keys[key.key_id] = key
        if count:
            self.faults.count("woocommerce.keys_created")
        return key, ck

    def delete_key(self, key_id: int) -> bool:
        """Revoke (delete) a key."""
        with self.lock:
            gone = self.keys.pop(key_id, None) is not None
        if gone:
            self.faults.count("woocommerce.keys_deleted")
        return gone

    def key_by_consumer_key(self, consumer_key: str) -> ApiKey | None:
        """Lookup by plain consumer key (stored hashed, as WooCommerce does)."""
        if self.faults.credential_state("woocommerce", consumer_key) is not None:
            return None
        digest = wc_api_hash(consumer_key)
        with self.lock:
            for key in self.keys.values():
                if hmac.compare_digest(key.consumer_key_hash, digest):
                    return key
        return None

    # ---- webhooks ------------------------------------------------------------------------------
    def create_webhook(self, *, name: str, topic: str, delivery_url: str, secret: str, status: str) -> Webhook:
        """Register a webhook."""
        now = datetime.now(UTC).replace(microsecond=0)
        with self.lock:
            hook = Webhook(self._next_webhook_id, name, topic, delivery_url, secret, status, now, now)
            self._next_webhook_id += 1
            self.webhooks[hook.id] = hook
        self.faults.count("woocommerce.webhooks_registered")
        return hook

    # Set by the WooState so stores can enqueue deliveries.
    dispatcher: Callable[[Store, Webhook, dict[str, Any]], None] | None = None
    ping: Callable[[Store, Webhook], None] | None = None

    def fire(self, topic: str, payload: dict[str, Any]) -> None:
        """Enqueue deliveries of ``payload`` to every active webhook subscribed to ``topic``."""
        with self.lock:
            hooks = [h for h in self.webhooks.values() if h.status == "active" and h.topic == topic]
        if self.dispatcher is not None:
            for hook in hooks:
                self.dispatcher(self, hook, payload)

    # ---- sessions ------------------------------------------------------------------------------
    def login(self, login: str, password: str) -> str | None:
        """Check a WordPress login; returns a session token."""
        for user in self.users.values():
            if (user.login == login or user.email == login) and hmac.compare_digest(user.password, password):
                token = secrets.token_urlsafe(24)
                with self.lock:
                    self.sessions[token] = user.id
                return token
        return None

    def user_for_session(self, token: str | None) -> User | None:
        """The logged-in user for a session cookie value."""
        if not token:
            return None
        with self.lock:
            uid = self.sessions.get(token)
        return self.users.get(uid) if uid is not None else None

    def seen_nonce(self, key: ApiKey, nonce: str, timestamp: int, window: int) -> bool:
        """Record an OAuth nonce; True if it was already used within the window."""
        now = int(time.time())
        with self.lock:
            key.nonces = {n: t for n, t in key.nonces.items() if t > now - window}
            if nonce in key.nonces:
                return True
            key.nonces[nonce] = timestamp
            return False
