"""``fix_integration`` end to end: set a service up for real, break it upstream (the key revoked in the store's
wp-admin and one of our webhooks deleted; the Stripe app deauthorized), then "my woocommerce connection is broken"
/ "fix stripe" on Siri, a spoken yes (confirm tier), and the owner approves the replacement in the browser."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from executor.providers.stripe import StripeClient
from executor.providers.woocommerce import WooCommerceClient
from executor.recipes.woocommerce import WEBHOOK_TOPICS, webhook_delivery_url
from tests.e2e.stack import URL_RE, Stack
from tests.e2e.test_revoke_access import setup_woocommerce
from tests.e2e.test_stripe_setup import connect

ARTIFACTS = Path("test-artifacts/fix")
pytestmark = [pytest.mark.browser, pytest.mark.viewport(1280, 800)]


def secret(stack: Stack, service: str) -> tuple[str, dict[str, str]]:
    """The id and fields of the owner's one live credential for ``service``."""
    vault = stack.container.vault_services.vault
    live = [m for m in vault.list(stack.seed.owner_id) if m.service == service]
    assert len(live) == 1, live
    fields = vault.get(live[0].id, owner_id=stack.seed.owner_id, run_id=None, step_id=None).reveal()
    return live[0].id, {k: str(v) for k, v in fields.items()}


def approve_again_in_wp_admin(page: Page, url: str) -> None:
    """The wc-auth grant page, still signed in to wp-admin from the setup (WooCommerce skips the login form)."""
    page.goto(url)
    if page.locator("#username").count():
        page.fill("#username", "admin")
        page.fill("#password", "demo-admin-pass")
        page.click("input[name=login]")
    page.screenshot(path=str(ARTIFACTS / "woo-grant.png"), full_page=True)
    page.get_by_role("link", name="Approve").click()
    page.wait_for_load_state()


def ask_and_say_yes(stack: Stack, text: str) -> str:
    """``text`` then "yes" on Siri; returns the run id."""
    question = stack.siri(text)
    assert question["status"] == "question" and "Shall I go ahead?" in question["text"], question
    started = stack.siri("yes")
    assert started["status"] == "action_started", started
    return str(started["run_id"])


def test_a_revoked_key_and_a_deleted_webhook_are_repaired_after_the_owner_approves_a_new_key(
    stack: Stack, page: Page
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    setup_woocommerce(stack, page)
    owner = stack.seed.owner_id
    store = stack.sandbox.woo.store("demo")
    old_id, old = secret(stack, "woocommerce")
    delivery = webhook_delivery_url(stack.container.settings.public_url, owner)
    # broken upstream: the owner (or a plugin) revoked our key in wp-admin and deleted one of our webhooks
    assert store.delete_key(int(old["key_id"]))
    store.webhooks.pop(next(h.id for h in store.webhooks.values() if h.delivery_url == delivery))
    assert stack.container.parse_text("my woocommerce connection is broken", "en-US") == (
        "fix_integration",
        {"service": "woocommerce"},
    )
    before = len(stack.texts())

    run_id = ask_and_say_yes(stack, "my woocommerce connection is broken")
    run = stack.wait_run(run_id, ("waiting_for_owner", "failed"))
    assert run.status == "waiting_for_owner" and run.recipe == "woocommerce.fix", run.error
    needs_you = stack.wait_text(r"OmniOps needs you: .*wc-auth", after=before)
    wc_auth = URL_RE.search(needs_you.split("admin: ", 1)[1])
    assert wc_auth is not None
    approve_again_in_wp_admin(page, wc_auth.group(0))
    page.screenshot(path=str(ARTIFACTS / "woo-approved.png"), full_page=True)
    done = stack.wait_run(run_id, ("succeeded", "failed", "compensated"))

    assert done.status == "succeeded", done.error
    assert done.summary.startswith(
        "WooCommerce repaired. What was broken: WooCommerce rejected the stored API key, 1 OmniOps webhook was "
        "missing. What I did: you approved a new API key and I erased the rejected one from OmniOps' vault, "
        "re-created 1 webhook, re-synced 47 products and "
    )
    new_id, new = secret(stack, "woocommerce")  # the only live one: the rejected key is erased
    assert new_id != old_id and new["consumer_key"] != old["consumer_key"] and new["run_id"] == run_id
    with httpx.Client(timeout=10) as http:
        client = WooCommerceClient(
            http, store_url=new["store_url"], consumer_key=new["consumer_key"], consumer_secret=new["consumer_secret"]
        )
        assert client.system_status()["environment"]["version"]
    mine = [h for h in store.webhooks.values() if h.delivery_url == delivery]
    assert sorted(h.topic for h in mine) == sorted(WEBHOOK_TOPICS)
    assert all(h.status == "active" for h in mine)
    assert stack.container.catalog.product_count(owner) == 47
    stack.wait_text(r"OmniOps: Done: WooCommerce repaired", after=before)


def test_a_deauthorized_stripe_account_is_reconnected_tested_and_refunded(stack: Stack, page: Page) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    setup_run = connect(stack, page)
    assert stack.wait_run(setup_run, ("succeeded", "failed", "compensated"), timeout=90).status == "succeeded"
    old_id, old = secret(stack, "stripe")
    assert stack.sandbox.stripe.deauthorize(old["stripe_user_id"])  # the owner disconnected OmniOps on Stripe
    before = len(stack.texts())

    run_id = ask_and_say_yes(stack, "fix stripe")
    run = stack.wait_run(run_id, ("waiting_for_owner", "failed"))
    assert run.status == "waiting_for_owner" and run.recipe == "stripe.fix", run.error
    oauth = URL_RE.search(stack.wait_text(r"Approve OmniOps on Stripe", after=before).split("Stripe: ", 1)[1])
    assert oauth is not None
    page.goto(oauth.group(0))
    page.click("#approve")
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / "stripe-reconnected.png"), full_page=True)
    done = stack.wait_run(run_id, ("succeeded", "failed", "compensated"), timeout=90)

    assert done.status == "succeeded", done.error
    assert done.summary == (
        "Stripe repaired. What was broken: Stripe rejected OmniOps' token (the app was disconnected on Stripe), "
        "OmniOps' webhook endpoint was missing. What I did: you reconnected Stripe and I erased the old token from "
        "OmniOps' vault, re-created the webhook endpoint, a $1.00 test payment succeeded and was refunded."
    )
    new_id, new = secret(stack, "stripe")
    assert new_id != old_id and new["access_token"] != old["access_token"]
    with httpx.Client(timeout=10) as http:
        client = StripeClient(
            http, secret_key=new["access_token"], api_base=stack.sandbox.urls["stripe"], account=new["stripe_user_id"]
        )
        assert client.retrieve_account()["id"] == new["stripe_user_id"]
    counters = stack.sandbox.counters()
    assert counters.get("stripe.charges") == 2 and counters.get("stripe.refunds") == 2  # setup's and the fix's
    stack.wait_text(r"OmniOps: Done: Stripe repaired", after=before)
