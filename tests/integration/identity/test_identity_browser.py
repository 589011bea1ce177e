"""The identity pages in headless Chromium with JavaScript switched off: they must work as plain HTML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from gateway.identity.store import SqlOwners
from gateway.serve import BackgroundServer
from tests.integration.identity.identity_support import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
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
def server(app: Flask) -> Iterator[str]:
    srv = BackgroundServer(app).start()
    yield srv.url
    srv.stop()


def test_sign_in_create_and_revoke_a_token_without_javascript(server: str, lite_store: SqlOwners) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    owner = lite_store.create_owner(name="Acme Goods", plan="ai_assisted")
    lite_store.add_person(owner.id, name="Ann", email="ann@acme.test", password=PASSWORD)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 740}).new_page()
            page.goto(f"{server}/account")
            assert page.url.startswith(f"{server}/login")
            page.get_by_label("E-mail").fill("ann@acme.test")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            assert page.url == f"{server}/account"
            assert page.get_by_role("heading", name="Acme Goods").is_visible()
            page.get_by_label("New token name").fill("Kitchen iPad")
            page.get_by_role("button", name="Create token").click()
            secret = page.locator("code.secret").inner_text()
            assert secret.startswith("oo_")
            assert lite_store.resolve_token(secret, "siri").owner_id == owner.id
            page.goto(f"{server}/account")
            page.get_by_role("button", name="Revoke").click()
            assert page.get_by_text("Token revoked.").is_visible()
            page.get_by_role("button", name="Sign out").click()
            assert page.url.startswith(f"{server}/login")
        finally:
            browser.close()
    assert not lite_store.list_tokens(owner.id)[0].active
