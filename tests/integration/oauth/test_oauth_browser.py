"""Account linking in headless Chromium (JavaScript off): sign in, approve, land on the client's callback.

This is the check that the grant page's Content-Security-Policy lets the approval form redirect to the
client (browsers apply ``form-action`` to redirects after a form post).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.integration.identity.identity_support import PASSWORD
from tests.integration.oauth.conftest import World
from tests.integration.oauth.oauth_support import Linker, live_server, pkce_pair, query_of

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


def _callback_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<!doctype html><title>client</title><h1>Client callback</h1>"]


@pytest.fixture
def callback_url() -> Iterator[str]:
    with live_server(_callback_app) as base:  # type: ignore[arg-type]  # a bare WSGI app is enough
        yield f"{base}/cb"


def test_link_in_a_real_browser(world: World, callback_url: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    client = world.oauth.store.add_client(name="Test Assistant", redirect_uris=[callback_url], agent="test")
    linker = Linker(world.base_url, client.record.id, client.secret, callback_url)
    verifier, challenge = pkce_pair()
    url = world.base_url + linker.authorize_url(challenge=challenge, state="browser-state")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_context(java_script_enabled=False).new_page()
                page.goto(url)
                assert urlsplit(page.url).path == "/login"
                page.get_by_label("E-mail").fill("ada@acme.test")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                assert page.get_by_role("heading", name="Link Test Assistant to Acme Garden Supplies?").is_visible()
                page.get_by_role("button", name="Link Test Assistant").click()
                page.wait_for_url(f"{callback_url}?*", timeout=10_000)
                assert page.get_by_role("heading", name="Client callback").is_visible()
                params = query_of(page.url)
            finally:
                browser.close()
        assert params["state"] == "browser-state"
        resp = linker.exchange(params["code"], verifier)
        assert resp.status_code == 200, resp.text
        principal = world.oauth.resolve_access_token(resp.json()["access_token"])
        assert principal.owner_id == world.owner_id
    finally:
        linker.close()
