"""Stripe auto-setup, end to end: "connect Stripe" by Siri, consent by SMS link, Connect OAuth in the owner's
browser (headless Chromium), then webhook + test payment + refund against the Stripe simulator, with faults."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.stack import LINK_RE, URL_RE, Stack
from tests.e2e.test_woocommerce_setup import approve_consent_link

ARTIFACTS = Path("test-artifacts/stripe")
pytestmark = [pytest.mark.browser, pytest.mark.viewport(1280, 800)]


def connect(stack: Stack, page: Page, *, approve: bool = True) -> str:
    """Ask, approve the consent link, answer Stripe's OAuth page; returns the run id."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = len(stack.texts())
    reply = stack.siri("connect stripe")
    assert "sent a link to your phone" in reply["speech"]
    link = LINK_RE.search(stack.wait_text(LINK_RE, after=before))
    assert link is not None
    approve_consent_link(page, link.group(0), "stripe")
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None and run.recipe == "stripe.setup"
    stack.wait_run(run.id, ("waiting_for_owner",))
    oauth = URL_RE.search(stack.wait_text(r"Approve OmniOps on Stripe", after=before).split("Stripe: ", 1)[1])
    assert oauth is not None
    page.goto(oauth.group(0))
    page.screenshot(path=str(ARTIFACTS / "oauth.png"), full_page=True)
    page.click("#approve" if approve else "#deny")
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / ("connected.png" if approve else "denied.png")), full_page=True)
    return run.id


def test_connect_stripe_charges_once_refunds_once_and_reports(
    stack: Stack, page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # provider trouble on the way: a 429 with Retry-After and a 500 burst on the payment endpoint
    stack.sandbox.faults.rate_limit("stripe", times=1, retry_after=1, path="/v1/payment_intents")
    stack.sandbox.faults.error_burst("stripe", status=500, times=2, path="/v1/refunds")
    run_id = connect(stack, page)
    done = stack.wait_run(run_id, ("succeeded", "failed", "compensated"), timeout=90)
    assert done.status == "succeeded", done.error
    assert done.summary == "Stripe connected. Test payment successful."
    stack.wait_text(r"OmniOps: Done: Stripe connected. Test payment successful.")
    counters = stack.sandbox.counters()
    assert counters.get("stripe.charges") == 1
    assert counters.get("stripe.refunds") == 1
    assert counters.get("stripe.webhooks_registered") == 1
    assert counters.get("stripe.oauth_tokens") == 1
    assert "Stripe" in stack.siri("what's connected")["text"]
    tokens = [k for k in stack.sandbox.stripe.keys if k.startswith("sk_test_")]
    assert tokens and not any(t in caplog.text for t in tokens)


def test_owner_declines_on_stripe_and_the_run_fails_with_the_reason(stack: Stack, page: Page) -> None:
    run_id = connect(stack, page, approve=False)
    done = stack.wait_run(run_id, ("failed", "compensated"))
    assert done.error and "denied" in done.error.lower()
    assert stack.sandbox.counters().get("stripe.charges", 0) == 0
    stack.wait_text(r"OmniOps: Failed")


def test_declined_test_card_fails_cleanly_and_undoes_the_webhook(stack: Stack, page: Page) -> None:
    recipe = stack.container.executor.recipes.get("stripe.setup")
    assert recipe is not None
    test_payment = recipe.step("test_payment")
    # the same recipe, built with the simulator's "declined" test card
    from executor.recipes import stripe as stripe_recipe

    setup = test_payment.run.__self__  # type: ignore[attr-defined]
    assert isinstance(setup, stripe_recipe.StripeSetup)
    setup.payment_method = "pm_card_chargeDeclined"
    run_id = connect(stack, page)
    done = stack.wait_run(run_id, ("failed", "compensated"), timeout=60)
    assert done.status == "compensated"
    assert done.error and "declined" in done.error.lower()
    counters = stack.sandbox.counters()
    assert counters.get("stripe.charges", 0) == 0 and counters.get("stripe.declines") == 1
    assert counters.get("stripe.webhooks_deleted") == 1
