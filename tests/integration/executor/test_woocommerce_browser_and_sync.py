"""The wp-admin browser (real headless Chromium against the sandbox's wp-admin) and a retried sync of the
10,000-product store (real HTTP, real catalog): a retry after a provider failure mid-sync adds no duplicates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from core.errors import CredentialsExpired, ProviderRejected, ProviderRetryable
from executor.browser import LoginHandoff, WpAdminBrowser, WpAdminLogin
from executor.catalog import SCHEMA as CATALOG_SCHEMA
from executor.catalog import Catalog
from executor.journal import SystemClock
from executor.nonces import RunTokens
from executor.providers.woocommerce import WooCommerceClient
from executor.recipe import StepContext
from executor.recipes.woocommerce import WooCommerceSetup
from gateway.db import create_schema
from sandbox.server import Sandbox, start_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox(host="127.0.0.1", port=0, seed=0)
    yield sb
    sb.stop()


def store(sb: Sandbox, slug: str) -> dict[str, Any]:
    return next(s for s in sb.describe()["stores"] if s["slug"] == slug)


class StaticCredentials:
    """``CredentialAccess`` holding one WooCommerce key (a port fake)."""

    def __init__(self, secret: Mapping[str, str]) -> None:
        self.secret = dict(secret)

    def get(
        self, owner_id: str, service: str, *, run_id: str | None = None, step_id: str | None = None
    ) -> Mapping[str, str] | None:
        return self.secret if service == "woocommerce" else None

    def put(self, owner_id: str, service: str, secret: Mapping[str, str], *, label: str) -> str:
        raise AssertionError("not used")

    def revoke(self, owner_id: str, service: str) -> int:
        raise AssertionError("not used")


# ------------------------------------------------------------------------------------------------ browser
@pytest.mark.browser
def test_a_wrong_wp_admin_password_is_refused_and_creates_no_key(sandbox: Sandbox, tmp_path: Path) -> None:
    demo = store(sandbox, "demo")
    before = sandbox.faults.counter("woocommerce.keys_created")
    browser = WpAdminBrowser(artifacts_dir=tmp_path)
    with pytest.raises(ProviderRejected, match="did not accept that username and password") as info:
        browser.create_key(
            demo["url"], WpAdminLogin("admin", "not-the-password"), description="OmniOps - run r_bad", run_id="r_bad"
        )
    assert "not-the-password" not in str(info.value)
    assert sandbox.faults.counter("woocommerce.keys_created") == before
    snapshots = "".join(p.read_text() for p in (tmp_path / "r_bad").glob("*.html"))
    assert snapshots and "not-the-password" not in snapshots


@pytest.mark.browser
def test_the_browser_creates_a_working_read_write_key_then_revokes_it_in_wp_admin(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    demo = store(sandbox, "demo")
    login = WpAdminLogin("admin", demo["admin"]["password"])
    browser = WpAdminBrowser(artifacts_dir=tmp_path)
    key = browser.create_key(demo["url"], login, description="OmniOps - run r_browser", run_id="r_browser")
    assert key.consumer_secret not in repr(key)
    with httpx.Client() as http:
        client = WooCommerceClient(
            http, store_url=demo["url"], consumer_key=key.consumer_key, consumer_secret=key.consumer_secret
        )
        assert "environment" in client.system_status()
        client.create_webhook(name="probe", topic="order.created", delivery_url="http://127.0.0.1:9/x", secret="s")

        deleted = sandbox.faults.counter("woocommerce.keys_deleted")
        assert browser.revoke_key(
            demo["url"], login, run_id="r_browser", description="OmniOps - run r_browser", ending=""
        )
        assert sandbox.faults.counter("woocommerce.keys_deleted") == deleted + 1
        with pytest.raises((CredentialsExpired, ProviderRejected)):
            client.system_status()


def test_the_login_handoff_gives_the_login_once_and_forgets_it_after_its_ttl() -> None:
    now = [0.0]
    handoff = LoginHandoff(ttl_seconds=60, clock=lambda: now[0])
    handoff.put("run_1", WpAdminLogin("admin", "pw-123456"))
    assert "pw-123456" not in repr(handoff) and "pw-123456" not in repr(WpAdminLogin("admin", "pw-123456"))
    assert handoff.take("run_1") == WpAdminLogin("admin", "pw-123456")
    assert handoff.take("run_1") is None
    handoff.put("run_2", WpAdminLogin("admin", "pw"))
    now[0] = 61.0
    assert not handoff.has("run_2") and handoff.take("run_2") is None


# ------------------------------------------------------------------------------------------------ big store
def test_a_retried_sync_of_the_10000_product_store_creates_no_duplicates(
    sandbox: Sandbox, sqlite_engine: Engine
) -> None:
    create_schema(sqlite_engine, [CATALOG_SCHEMA])
    big = store(sandbox, "big")
    catalog = Catalog(sqlite_engine, clock=SystemClock())
    setup = WooCommerceSetup(
        public_url="http://127.0.0.1:1",
        tokens=RunTokens(b"k" * 32),
        catalog=catalog,
        clock=SystemClock(),
        webhook_secret=lambda owner: "s",
    )
    secret = {"store_url": big["url"], **big["rest_key"], "key_id": "1", "run_id": "r_big"}
    injected: list[str] = []

    def emit(message: str) -> None:
        if not injected:  # after the first 10 pages, the store answers 500 once: the sync fails mid-way
            sandbox.faults.error_burst("woocommerce", status=500, times=1, path="/stores/big/wp-json/wc/v3/products")
            injected.append(message)

    owner = "own_big"
    with httpx.Client(timeout=30) as http:

        def context() -> StepContext:
            return StepContext(
                run_id="r_big",
                owner_id=owner,
                step_id="sync_products",
                params={"store_url": big["url"]},
                outputs={},
                credentials=StaticCredentials(secret),
                http=http,
                emit=emit,
            )

        with pytest.raises(ProviderRetryable):
            setup.sync_products(context())
        partial = catalog.product_count(owner)
        assert injected == ["Synced 1000 of 10000 products"] and partial == 1000
        result = setup.sync_products(context())  # the runner's retry: the whole step again
    assert result.output["products"] == 10_000
    assert catalog.product_count(owner) == 10_000
