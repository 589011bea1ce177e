"""The consent page in headless Chromium: phone and desktop screenshots, then a real click on Approve."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.ports import ConsentStatus
from tests.integration.consent.conftest import World

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "consent"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> str:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    return CHROMIUM


def test_consent_page_on_phone_and_desktop_then_approve(world: World, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    link = world.ask()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
            page = phone.new_page()
            page.goto(link)
            assert page.get_by_role("heading").first.inner_text() == (
                "Create WooCommerce API keys and sync your products"
            )
            approve = page.get_by_role("button", name="Approve")
            box = approve.bounding_box()
            assert box is not None and box["width"] >= 150 and box["height"] >= 44  # thumb-sized on a phone
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            # the nonce'd stylesheet applied under the CSP: Approve is green, not the default grey
            assert approve.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(19, 111, 58)"
            page.screenshot(path=str(ARTIFACTS / "consent-phone-390x844.png"), full_page=True)
            phone.close()

            desktop = browser.new_context(viewport={"width": 1280, "height": 800})
            page = desktop.new_page()
            page.goto(link)
            page.screenshot(path=str(ARTIFACTS / "consent-desktop-1280x800.png"), full_page=True)
            assert world.store.get_by_token(link.rsplit("/", 1)[1]).status is ConsentStatus.PENDING  # type: ignore[union-attr]
            page.get_by_role("button", name="Approve").click()
            page.wait_for_load_state()
            assert page.get_by_role("heading").first.inner_text() == "Approved"
            assert "Done — OmniOps is starting; you'll get a text when it finishes." in page.content().replace(
                "&#39;", "'"
            )
            assert page.get_by_role("link", name="See progress").get_attribute("href", timeout=5000)
            page.screenshot(path=str(ARTIFACTS / "consent-approved-1280x800.png"), full_page=True)
            desktop.close()
        finally:
            browser.close()
    assert world.store.get_by_token(link.rsplit("/", 1)[1]).status is ConsentStatus.APPROVED  # type: ignore[union-attr]
    assert len(world.journal.runs) == 1 and len(world.queue.enqueued) == 1
    for name in ("consent-phone-390x844.png", "consent-desktop-1280x800.png", "consent-approved-1280x800.png"):
        assert (ARTIFACTS / name).stat().st_size > 5000
