"""The synced store catalog (products, orders) and the reports answered from it.

Sync writes in batches (one provider page at a time, so 10,000 products never sit in memory); webhook
deliveries upsert or delete single rows. `SqlReports` implements `core.ports.Reports` for ``store_report``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.ports import Clock, ReportRow

metadata = sa.MetaData()
products = sa.Table(
    "catalog_products",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("product_id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("sku", sa.String(200)),
    sa.Column("price", sa.String(32)),
    sa.Column("stock_quantity", sa.Integer),
    sa.Column("stock_status", sa.String(32)),
    sa.Column("manage_stock", sa.Boolean, nullable=False, default=False),
    sa.Column("total_sales", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
orders = sa.Table(
    "catalog_orders",
    metadata,
    sa.Column("owner_id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.BigInteger, primary_key=True),
    sa.Column("status", sa.String(32)),
    sa.Column("total", sa.String(32)),
    sa.Column("currency", sa.String(8)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("line_items", sa.Text, nullable=False, default="[]"),  # [{product_id, name, quantity}]
)
SCHEMA = ("catalog", 1, metadata)
LOW_STOCK_THRESHOLD = 5


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _date(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # WooCommerce *_gmt fields are naive UTC


class Catalog:
    """Products and orders of each owner's store, as last synced."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def upsert_products(self, owner_id: str, items: Iterable[dict[str, Any]]) -> int:
        """Insert or replace a batch of WooCommerce product objects; returns how many."""
        rows = [
            {
                "owner_id": owner_id,
                "product_id": int(p["id"]),
                "name": str(p.get("name") or "")[:400],
                "sku": (str(p.get("sku")) if p.get("sku") else None),
                "price": str(p.get("price") or "") or None,
                "stock_quantity": _int(p.get("stock_quantity")),
                "stock_status": p.get("stock_status"),
                "manage_stock": bool(p.get("manage_stock")),
                "total_sales": _int(p.get("total_sales"), 0) or 0,
                "updated_at": self._clock.now(),
            }
            for p in items
        ]
        if not rows:
            return 0
        ids = [r["product_id"] for r in rows]
        with self._engine.begin() as conn:
            conn.execute(sa.delete(products).where(products.c.owner_id == owner_id, products.c.product_id.in_(ids)))
            conn.execute(products.insert(), rows)
        return len(rows)

    def delete_product(self, owner_id: str, product_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.delete(products).where(products.c.owner_id == owner_id, products.c.product_id == product_id)
            )

    def upsert_orders(self, owner_id: str, items: Iterable[dict[str, Any]]) -> int:
        rows = [
            {
                "owner_id": owner_id,
                "order_id": int(o["id"]),
                "status": o.get("status"),
                "total": str(o.get("total") or "0"),
                "currency": o.get("currency"),
                "created_at": _date(o.get("date_created_gmt") or o.get("date_created")),
                "line_items": json.dumps(
                    [
                        {
                            "product_id": _int(li.get("product_id")),
                            "name": li.get("name"),
                            "quantity": _int(li.get("quantity"), 0),
                        }
                        for li in o.get("line_items") or []
                    ]
                ),
            }
            for o in items
        ]
        if not rows:
            return 0
        ids = [r["order_id"] for r in rows]
        with self._engine.begin() as conn:
            conn.execute(sa.delete(orders).where(orders.c.owner_id == owner_id, orders.c.order_id.in_(ids)))
            conn.execute(orders.insert(), rows)
        return len(rows)

    def product_count(self, owner_id: str) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(products).where(products.c.owner_id == owner_id)
                ).scalar_one()
            )

    def forget(self, owner_id: str) -> None:
        """Delete everything synced for ``owner_id`` (revoke, erasure)."""
        with self._engine.begin() as conn:
            conn.execute(sa.delete(products).where(products.c.owner_id == owner_id))
            conn.execute(sa.delete(orders).where(orders.c.owner_id == owner_id))


def period_window(period: str | None, now: datetime) -> tuple[datetime, datetime] | None:
    """[start, end) of a named period in UTC, or None for "all time"."""
    if period is None:
        return None
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    prev_month = (month - timedelta(days=1)).replace(day=1)
    windows = {
        "today": (day, now + timedelta(seconds=1)),
        "yesterday": (day - timedelta(days=1), day),
        "this_week": (week, now + timedelta(seconds=1)),
        "last_week": (week - timedelta(days=7), week),
        "this_month": (month, now + timedelta(seconds=1)),
        "last_month": (prev_month, month),
        "last_30_days": (now - timedelta(days=30), now + timedelta(seconds=1)),
    }
    return windows.get(period)


@dataclass(frozen=True)
class SalesFigures:
    """Orders and revenue in a window, and the best sellers by units."""

    orders: int
    revenue: Decimal
    currency: str | None
    best_sellers: tuple[tuple[str, int], ...]  # (name, units), most sold first


@dataclass(frozen=True)
class RestockItem:
    """A product that is out of stock or at/below the low-stock threshold."""

    name: str
    sku: str | None
    stock: int
    status: str | None
    sold: int  # units in the orders of the window asked for


class SqlReports:
    """`core.ports.Reports` from the synced catalog, plus the figures scheduled workflows text the owner."""

    def __init__(self, engine: Engine, *, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def synced(self, owner_id: str) -> bool:
        """Whether a store has been synced for ``owner_id``."""
        with self._engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.select(sa.func.count()).select_from(products).where(products.c.owner_id == owner_id)
                ).scalar_one()
            )

    def sales_between(self, owner_id: str, start: datetime | None, end: datetime | None) -> SalesFigures:
        """Orders, revenue and best sellers of the orders created in [start, end) (None: unbounded)."""
        query = sa.select(orders.c.total, orders.c.currency, orders.c.line_items).where(orders.c.owner_id == owner_id)
        if start is not None:
            query = query.where(orders.c.created_at >= start)
        if end is not None:
            query = query.where(orders.c.created_at < end)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        units = _units_by_name(r.line_items for r in rows)
        return SalesFigures(
            orders=len(rows),
            revenue=sum((_money(r.total) for r in rows), Decimal(0)),
            currency=next((r.currency for r in rows if r.currency), None),
            best_sellers=tuple(sorted(units.items(), key=lambda kv: (-kv[1], kv[0]))),
        )

    def restock_list(self, owner_id: str, *, sold_since: datetime | None = None, limit: int = 10) -> list[RestockItem]:
        """Out-of-stock and low-stock products (fewest left first), with units sold since ``sold_since``."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(products.c.name, products.c.sku, products.c.stock_quantity, products.c.stock_status)
                .where(
                    products.c.owner_id == owner_id,
                    sa.or_(
                        products.c.stock_status == "outofstock",
                        sa.and_(products.c.manage_stock.is_(True), products.c.stock_quantity <= LOW_STOCK_THRESHOLD),
                    ),
                )
                .order_by(products.c.stock_quantity.asc(), products.c.name)
                .limit(limit)
            ).all()
        sold = self.sales_between(owner_id, sold_since, None).best_sellers if sold_since is not None else ()
        units = dict(sold)
        return [
            RestockItem(
                name=r.name,
                sku=r.sku,
                stock=r.stock_quantity if r.stock_quantity is not None else 0,
                status=r.stock_status,
                sold=units.get(r.name, 0),
            )
            for r in rows
        ]

    def report(self, owner_id: str, report: str, period: str | None) -> Sequence[ReportRow] | None:
        if not self.synced(owner_id):
            return None
        if report == "low_stock":
            return [
                ReportRow(label=item.name, value=item.stock, detail=item.status) for item in self.restock_list(owner_id)
            ]
        window = period_window(period, self._clock.now())
        figures = self.sales_between(owner_id, *(window or (None, None)))
        if report == "sales_summary":
            return [
                ReportRow(label="Orders", value=figures.orders),
                ReportRow(label="Revenue", value=f"{figures.revenue:.2f}"),
            ]
        if report == "best_sellers":
            if window is None and not figures.orders:
                with self._engine.connect() as conn:
                    top = conn.execute(
                        sa.select(products.c.name, products.c.total_sales)
                        .where(products.c.owner_id == owner_id, products.c.total_sales > 0)
                        .order_by(products.c.total_sales.desc(), products.c.name)
                        .limit(5)
                    ).all()
                return [ReportRow(label=r.name, value=r.total_sales, detail="sold") for r in top]
            return [ReportRow(label=name, value=qty, detail="sold") for name, qty in figures.best_sellers[:5]]
        return []


def _units_by_name(line_item_lists: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for raw in line_item_lists:
        for li in json.loads(raw):
            name = str(li.get("name"))
            counts[name] = counts.get(name, 0) + int(li.get("quantity") or 0)
    return counts


def _money(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)
