"""The chat widget on the demo page, against the real product: real NLU, consent store, executor, recipes and
the WooCommerce simulator — type, answer, approve the card, approve in wp-admin, watch it finish, ask a report."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.stack import BROWSER_ARGS, CHROMIUM, URL_RE, Stack
from tests.e2e.test_woocommerce_setup import approve_in_wp_admin

ARTIFACTS = Path("test-artifacts/widget-real")
pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)  # shared 2-core machines: allow slow renders, never a timed assertion


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_widget_sets_up_woocommerce_for_real(stack: Stack, width: int, height: int) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    store = stack.store_url("demo")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{stack.url}/demo")

            def shot(name: str) -> None:
                page.screenshot(path=str(ARTIFACTS / f"{width}-{name}.png"))

            page.get_by_role("button", name="Chat with OmniOps").click()
            box = page.get_by_role("textbox", name="Message")
            log = page.get_by_role("log", name="Conversation")
            box.fill("set up my WooCommerce store")
            page.keyboard.press("Enter")
            expect(log).to_contain_text("What is your WooCommerce store address?")
            shot("1-question")
            box.fill(store)
            page.keyboard.press("Enter")
            card = page.get_by_role("group", name="Approve this action?")
            expect(card).to_contain_text("Connect your WooCommerce store")
            expect(card).to_contain_text("until you revoke it")
            shot("2-consent")
            assert stack.container.journal.latest_run(stack.seed.owner_id) is None  # nothing before the yes
            card.get_by_role("button", name="Approve").click()
            expect(log).to_contain_text("I'm setting up WooCommerce now")
            expect(log).to_contain_text("Approve OmniOps in your WooCommerce admin", timeout=30000)
            shot("3-waiting")

            run = stack.container.journal.latest_run(stack.seed.owner_id)
            assert run is not None
            waiting = [e for e in stack.container.journal.events(run.id) if e.kind == "waiting_for_owner"]
            wc_auth = URL_RE.search(waiting[-1].message.split("admin: ", 1)[1])
            assert wc_auth is not None
            admin = browser.new_page()
            approve_in_wp_admin(admin, wc_auth.group(0))
            admin.close()

            expect(log).to_contain_text("Done! 47 products synced", timeout=45000)
            shot("4-done")
            box.fill("show me my best sellers")
            page.keyboard.press("Enter")
            expect(log).to_contain_text("Your best sellers")
            shot("5-report")
            assert errors == []
        finally:
            browser.close()
