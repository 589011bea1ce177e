"""``revoke_access`` end to end: set a service up for real, then "disconnect …" on Siri, approved by a spoken yes
(confirm tier), and check upstream (sandbox counters and state), the vault, the catalog and "what's connected"."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.stack import LINK_RE, URL_RE, Stack
from tests.e2e.test_stripe_setup import connect
from tests.e2e.test_woocommerce_setup import approve_consent_link, approve_in_wp_admin
from vault.audit_verify import verify

ARTIFACTS = Path("test-artifacts/revoke")
pytestmark = [pytest.mark.browser, pytest.mark.viewport(1280, 800)]


@pytest.fixture(autouse=True)
def _artifacts() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def setup_woocommerce(stack: Stack, page: Page) -> str:
    """The wc-auth setup of the demo store, approved in the browser; returns the run id."""
    stack.siri(f"set up woocommerce at {stack.store_url('demo')}")
    link = LINK_RE.search(stack.wait_text(LINK_RE))
    assert link is not None
    approve_consent_link(page, link.group(0), "revoke-setup")
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None
    stack.wait_run(run.id, ("waiting_for_owner",))
    wc_auth = URL_RE.search(stack.wait_text(r"wc-auth").split("admin: ", 1)[1])
    assert wc_auth is not None
    approve_in_wp_admin(page, wc_auth.group(0))
    done = stack.wait_run(run.id, ("succeeded", "failed", "compensated"))
    assert done.status == "succeeded", done.error
    return run.id


def connected(stack: Stack) -> list[str]:
    """The services "what's connected" names (empty when nothing is)."""
    text = str(stack.siri("what's connected")["text"])
    if not text.startswith("Connected: "):
        return []
    return [name.strip() for name in text.removeprefix("Connected: ").rstrip(".").split(",")]


def revoke_by_yes(stack: Stack, service: str) -> str:
    """ "Disconnect <service>" then "yes" on Siri; returns the finished run's summary."""
    question = stack.siri(f"disconnect {service}")
    assert question["status"] == "question" and "Shall I go ahead?" in question["text"]
    started = stack.siri("yes")
    assert started["status"] == "action_started", started
    run = stack.wait_run(started["run_id"], ("succeeded", "failed", "compensated"))
    assert run.status == "succeeded", run.error
    assert run.recipe == f"{service}.revoke"
    return run.summary or ""


def test_disconnect_woocommerce_by_yes_deletes_our_webhooks_forgets_key_and_catalog(stack: Stack, page: Page) -> None:
    setup_woocommerce(stack, page)
    owner = stack.seed.owner_id
    store = stack.sandbox.woo.store("demo")
    # a webhook somebody else registered on the store must survive our revoke
    store.create_webhook(
        name="theirs", topic="order.created", delivery_url="https://example.test/hook", secret="x", status="paused"
    )
    assert stack.container.catalog.product_count(owner) == 47
    stack.sandbox.woo.drain_webhooks()  # the creation pings of our 4 webhooks were accepted
    assert stack.sandbox.counters().get("woocommerce.webhooks_failed", 0) == 0
    assert "WooCommerce" in connected(stack)
    cred = stack.container.vault_services.vault.find(owner, "woocommerce")
    assert cred is not None
    key_ending = str(
        stack.container.vault_services.vault.get(cred.id, owner_id=owner, run_id=None, step_id=None).reveal()[
            "consumer_key"
        ]
    )[-7:]

    summary = revoke_by_yes(stack, "woocommerce")

    assert stack.sandbox.counters().get("woocommerce.webhooks_deleted") == 4
    remaining = [h.delivery_url for h in store.webhooks.values()]
    assert remaining == ["https://example.test/hook"]
    assert stack.container.vault_services.vault.find(owner, "woocommerce") is None
    assert not [m for m in stack.container.vault_services.vault.list(owner) if m.service == "woocommerce"]
    assert stack.container.catalog.product_count(owner) == 0
    # no REST route deletes WooCommerce keys: the owner is told exactly where to click
    assert "WooCommerce > Settings > Advanced > REST API > Revoke" in summary
    assert 'named "OmniOps - API (…)"' in summary and f"…{key_ending}" in summary
    assert "WooCommerce" not in connected(stack)
    stack.wait_text(r"OmniOps: Done: WooCommerce disconnected")
    result = verify(stack.container.engine, stack.container.vault_services.keyring)
    assert result.ok, result


def test_disconnect_stripe_by_yes_deletes_the_endpoint_deauthorizes_and_forgets_the_token(
    stack: Stack, page: Page
) -> None:
    run_id = connect(stack, page)
    assert stack.wait_run(run_id, ("succeeded", "failed", "compensated"), timeout=90).status == "succeeded"
    owner = stack.seed.owner_id
    assert "Stripe" in connected(stack)

    summary = revoke_by_yes(stack, "stripe")

    counters = stack.sandbox.counters()
    assert counters.get("stripe.webhooks_deleted") == 1
    assert counters.get("stripe.deauthorizations") == 1
    assert summary.startswith("Stripe disconnected")
    assert stack.container.vault_services.vault.find(owner, "stripe") is None
    assert "Stripe" not in connected(stack)


def test_disconnecting_what_was_never_connected_changes_nothing(stack: Stack) -> None:
    summary = revoke_by_yes(stack, "stripe")
    assert summary == "Stripe was not connected, so there was nothing to remove."
    assert stack.sandbox.counters().get("stripe.deauthorizations", 0) == 0
