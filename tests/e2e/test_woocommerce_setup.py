"""WooCommerce auto-setup, end to end: Siri asks, the owner approves by SMS link and in their own wp-admin
(headless Chromium), the worker syncs over real HTTP against the sandbox, the owner is texted the result, and
reports, webhooks, the vault and the audit chain all hold up afterwards."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.stack import LINK_RE, URL_RE, Stack
from vault.audit_verify import verify

ARTIFACTS = Path("test-artifacts/woocommerce")
pytestmark = pytest.mark.browser


def approve_consent_link(page: Page, link: str, shot: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(link)
    page.screenshot(path=str(ARTIFACTS / f"{shot}-consent.png"), full_page=True)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / f"{shot}-approved.png"), full_page=True)


def approve_in_wp_admin(page: Page, url: str, *, password: str = "demo-admin-pass") -> None:
    page.goto(url)
    page.fill("#username", "admin")
    page.fill("#password", password)
    page.click("input[name=login]")
    page.screenshot(path=str(ARTIFACTS / "wc-auth-grant.png"), full_page=True)
    page.get_by_role("link", name="Approve").click()
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / "wc-auth-returned.png"), full_page=True)


def test_siri_to_done_with_true_counts_reports_webhooks_and_a_clean_audit_chain(
    stack: Stack, page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = stack.siri(f"set up woocommerce at {stack.store_url('demo')}")
    assert "sent a link to your phone" in reply["speech"]
    link = LINK_RE.search(stack.wait_text(LINK_RE))
    assert link is not None

    approve_consent_link(page, link.group(0), "woo")
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None and run.recipe == "woocommerce.setup"
    stack.wait_run(run.id, ("waiting_for_owner",))
    needs_you = stack.wait_text(r"OmniOps needs you: .*wc-auth")
    wc_auth = URL_RE.search(needs_you.split("admin: ", 1)[1])
    assert wc_auth is not None

    approve_in_wp_admin(page, wc_auth.group(0))
    done = stack.wait_run(run.id, ("succeeded", "failed", "compensated"))
    assert done.status == "succeeded", done.error
    assert done.summary == "Done! 47 products synced. Try: 'Show me your best sellers'"
    stack.wait_text(r"OmniOps: Done: Done! 47 products synced")

    counters = stack.sandbox.counters()
    assert counters.get("woocommerce.keys_created") == 1
    assert counters.get("woocommerce.webhooks_registered") == 4
    assert stack.container.catalog.product_count(stack.seed.owner_id) == 47

    best = stack.siri("show me my best sellers")
    assert best["speech"].startswith("Your best sellers:")
    low = stack.siri("what's running low")
    assert "Running low" in low["text"] or "Nothing to report" in low["text"]

    # a product added in wp-admin reaches the catalog through a signed webhook delivery
    stack.sandbox.woo.create_product("demo", {"name": "Webhook Mug", "regular_price": "12.00"})
    deadline = time.monotonic() + 20
    while stack.container.catalog.product_count(stack.seed.owner_id) != 48 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stack.container.catalog.product_count(stack.seed.owner_id) == 48

    listed = stack.siri("what's connected")
    assert "WooCommerce" in listed["text"]
    result = verify(stack.container.engine, stack.container.vault_services.keyring)
    assert result.ok, result
    secrets = [k.consumer_secret for k in stack.sandbox.woo.store("demo").keys.values()]
    assert secrets and not any(s in caplog.text for s in secrets)
    assert not any(s in page.content() for s in secrets)


def test_owner_denies_in_wp_admin_and_the_run_fails_cleanly_with_a_guide(stack: Stack, page: Page) -> None:
    stack.siri(f"set up woocommerce at {stack.store_url('demo')}")
    link = LINK_RE.search(stack.wait_text(LINK_RE))
    assert link is not None
    approve_consent_link(page, link.group(0), "deny")
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None
    stack.wait_run(run.id, ("waiting_for_owner",))
    wc_auth = URL_RE.search(stack.wait_text(r"wc-auth").split("admin: ", 1)[1])
    assert wc_auth is not None
    page.goto(wc_auth.group(0))
    page.fill("#username", "admin")
    page.fill("#password", "demo-admin-pass")
    page.click("input[name=login]")
    page.get_by_role("link", name="Deny").click()
    page.wait_for_load_state()
    assert "didn't approve" in page.content()
    # the owner never approved: nothing was created, and the run is still waiting (it times out later)
    assert stack.sandbox.counters().get("woocommerce.keys_created", 0) == 0
    assert stack.container.journal.get_run(run.id).status == "waiting_for_owner"


def test_not_a_woocommerce_site_fails_with_the_reason(stack: Stack, page: Page) -> None:
    stack.siri(f"set up woocommerce at {stack.url}/healthz")
    link = LINK_RE.search(stack.wait_text(LINK_RE))
    assert link is not None
    approve_consent_link(page, link.group(0), "notwoo")
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None
    done = stack.wait_run(run.id, ("failed", "compensated"))
    assert done.error and re.search(r"WordPress|WooCommerce|not", done.error)
    stack.wait_text(r"OmniOps: Failed")
