"""The synced catalog and its reports on real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from executor.catalog import SCHEMA, Catalog, SqlReports, period_window
from gateway.db import create_schema
from tests.fakes import FakeClock


def _product(i: int, **kw: object) -> dict[str, object]:
    return {"id": i, "name": f"Product {i}", "sku": f"SKU-{i}", "price": "9.50", "manage_stock": True,
            "stock_quantity": 50, "stock_status": "instock", "total_sales": 0, **kw}


def test_sync_reports_and_isolation(engine: Engine) -> None:
    create_schema(engine, [SCHEMA])
    clock = FakeClock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    catalog, reports = Catalog(engine, clock=clock), SqlReports(engine, clock=clock)
    assert reports.report("own_a", "best_sellers", None) is None  # nothing synced yet
    catalog.upsert_products("own_a", [_product(i) for i in range(1, 48)])
    catalog.upsert_products("own_a", [_product(3, stock_quantity=2), _product(4, stock_status="outofstock",
                                                                               stock_quantity=0)])
    catalog.upsert_products("own_b", [_product(1, name="Other owner's", total_sales=999)])
    assert catalog.product_count("own_a") == 47
    low = reports.report("own_a", "low_stock", None)
    assert [r.label for r in low or []] == ["Product 4", "Product 3"]
    catalog.upsert_orders("own_a", [
        {"id": 1, "status": "completed", "total": "19.00", "date_created_gmt": "2026-11-26T09:00:00",
         "line_items": [{"product_id": 5, "name": "Product 5", "quantity": 2}]},
        {"id": 2, "status": "completed", "total": "9.50", "date_created_gmt": "2026-11-20T09:00:00",
         "line_items": [{"product_id": 6, "name": "Product 6", "quantity": 1}]},
    ])
    today = reports.report("own_a", "sales_summary", "today")
    assert [(r.label, r.value) for r in today or []] == [("Orders", 1), ("Revenue", "19.00")]
    best = reports.report("own_a", "best_sellers", "this_month")
    assert [(r.label, r.value) for r in best or []] == [("Product 5", 2), ("Product 6", 1)]
    assert all(r.label != "Other owner's" for r in reports.report("own_a", "best_sellers", None) or [])
    catalog.delete_product("own_a", 47)
    assert catalog.product_count("own_a") == 46
    catalog.forget("own_a")
    assert catalog.product_count("own_a") == 0 and catalog.product_count("own_b") == 1


def test_period_windows() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday
    start, end = period_window("last_week", now) or (now, now)
    assert start == datetime(2026, 11, 16, tzinfo=UTC) and end == datetime(2026, 11, 23, tzinfo=UTC)
    assert period_window(None, now) is None
    start, _ = period_window("last_month", now) or (now, now)
    assert start == datetime(2026, 10, 1, tzinfo=UTC)
