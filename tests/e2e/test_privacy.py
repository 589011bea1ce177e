"""The owner's data rights end to end: "export my data" then "delete my data" after a real WooCommerce setup."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.e2e.stack import LINK_RE, URL_RE, Stack
from tests.e2e.test_woocommerce_setup import approve_consent_link, approve_in_wp_admin
from tests.integration.oauth.oauth_support import Linker
from vault.audit_verify import verify

pytestmark = pytest.mark.browser


def approve_by_link(stack: Stack, page: Page, text: str, shot: str) -> str:
    before = len(stack.texts())
    assert "sent a link to your phone" in stack.siri(text)["speech"]
    link = LINK_RE.search(stack.wait_text(LINK_RE, after=before))
    assert link is not None
    approve_consent_link(page, link.group(0), shot)
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None
    return run.id


def test_export_then_delete_my_data(stack: Stack, page: Page) -> None:
    run_id = approve_by_link(stack, page, f"set up woocommerce at {stack.store_url('demo')}", "priv-setup")
    stack.wait_run(run_id, ("waiting_for_owner",))
    wc_auth = URL_RE.search(stack.wait_text(r"wc-auth").split("admin: ", 1)[1])
    assert wc_auth is not None
    approve_in_wp_admin(page, wc_auth.group(0))
    assert stack.wait_run(run_id, ("succeeded", "failed", "compensated")).status == "succeeded"

    export_run = approve_by_link(stack, page, "export my data", "priv-export")
    done = stack.wait_run(export_run, ("succeeded", "failed", "compensated"))
    assert done.status == "succeeded", done.error
    archive_path = stack.container.settings.var_dir / "exports" / stack.seed.owner_id / f"{export_run}.json"
    raw = archive_path.read_text()
    archive = json.loads(raw)
    assert [c["service"] for c in archive["credentials"]] == ["woocommerce"]
    assert len(archive["catalog_products"]) == 47 and archive["account"]["id"] == stack.seed.owner_id
    secrets = [k.consumer_secret for k in stack.sandbox.woo.store("demo").keys.values()]
    assert secrets and not any(s in raw for s in secrets)
    browser = Linker(stack.url, "unused", "unused")
    try:
        browser.login(stack.seed.email, stack.seed.password, next_path="/account/exports")
        got = browser.browser.get(f"/account/exports/{export_run}")
        assert got.status_code == 200 and json.loads(got.text)["export_run_id"] == export_run
        assert browser.browser.get("/account/exports/../../secret_key").status_code == 404
    finally:
        browser.close()

    delete_run = approve_by_link(stack, page, "delete my data", "priv-delete")
    done = stack.wait_run(delete_run, ("succeeded", "failed", "compensated"))
    assert done.status == "succeeded", done.error
    assert stack.sandbox.counters().get("woocommerce.webhooks_deleted") == 4
    assert stack.container.vault_services.vault.list(stack.seed.owner_id) == []
    assert stack.container.catalog.product_count(stack.seed.owner_id) == 0
    assert "Nothing is connected" in stack.siri("what's connected")["text"]
    assert verify(stack.container.engine, stack.container.vault_services.keyring).ok
