"""The wc-auth grant flow and the wp-admin "Add key" screen work in a real (headless) Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, sync_playwright
from sandbox_receiver import Receiver

from sandbox.server import Sandbox

pytestmark = pytest.mark.browser

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield b
        b.close()


def test_wc_auth_in_chromium(sandbox: Sandbox, receiver: Receiver, browser: Browser) -> None:
    store = f"{sandbox.urls['woocommerce']}/stores/demo"
    return_url = f"{receiver.url}/return"
    params = {
        "app_name": "OmniOps",
        "scope": "read",
        "user_id": "u-1",
        "return_url": return_url,
        "callback_url": f"{receiver.url}/cb",
    }
    page = browser.new_page()
    page.goto(f"{store}/wc-auth/v1/authorize?{urlencode(params)}")
    page.fill("#username", "admin")
    page.fill("#password", "demo-admin-pass")
    page.click("input[name=login]")
    assert "OmniOps would like to connect to Demo Store" in page.content()
    page.click("a.wc-auth-approve")
    page.wait_for_url(f"{return_url}*")
    assert parse_qs(urlsplit(page.url).query) == {"success": ["1"], "user_id": ["u-1"]}
    callback = json.loads(next(r for r in receiver.requests if r["path"] == "/cb")["body"])
    assert callback["key_permissions"] == "read" and callback["consumer_key"].startswith("ck_")
    page.close()


def test_wp_admin_add_key_in_chromium(sandbox: Sandbox, browser: Browser) -> None:
    store = f"{sandbox.urls['woocommerce']}/stores/demo"
    page = browser.new_page()
    page.goto(f"{store}/wp-admin/admin.php?page=wc-settings&tab=advanced&section=keys")
    page.fill("#user_login", "admin")
    page.fill("#user_pass", "demo-admin-pass")
    page.click("#wp-submit")
    page.click("text=Add key")
    page.fill("#key_description", "Chromium key")
    page.select_option("#key_permissions", "read_write")
    page.click("#update_api_key")
    ck = page.input_value("#key_consumer_key")
    cs = page.input_value("#key_consumer_secret")
    assert ck.startswith("ck_") and cs.startswith("cs_")
    key = sandbox.woo.store("demo").key_by_consumer_key(ck)
    assert key is not None and key.description == "Chromium key" and key.permissions == "read_write"
    page.close()
