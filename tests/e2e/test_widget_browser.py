"""Browser e2e: headless Chromium embeds the widget with one script tag on a shop page (another origin),
asks for a WooCommerce setup, answers the address question, approves the consent card and watches progress.

The gateway is real HTTP with a real MessageBus; the stores are the fakes of tests/fakes.py and the recipe is a
stub declaration for WooCommerce (the real recipe and stores are wired by the lead). Progress events are
published from the test through the in-memory EventStream. Screenshots: test-artifacts/widget/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, Response

from chat.sessions import WidgetSigner, snippet
from gateway.app import create_app
from gateway.serve import BackgroundServer
from tests.chat_support import OWNER, SECRET, ChatTestContainer, build_chat_container, run_event

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "widget"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[BackgroundServer, ChatTestContainer]]:
    container = build_chat_container(tmp_path)
    server = BackgroundServer(create_app(container=container), host="127.0.0.1").start()
    yield server, container
    server.stop()
    container.close()


@pytest.fixture
def shop(gateway: tuple[BackgroundServer, ChatTestContainer]) -> Iterator[str]:
    """The owner's own page on another origin (localhost vs 127.0.0.1), embedding the widget with one tag."""
    gw, container = gateway
    holder: dict[str, str] = {}
    app = Flask("shop")

    @app.get("/")
    def page() -> Response:
        tag = snippet(public_url=gw.url, key=holder["key"])
        return Response(
            f"<!doctype html><html lang=en><head><meta name=viewport content='width=device-width, "
            f"initial-scale=1'><title>Shop admin</title></head><body><h1>Blue Mug Co. admin</h1>"
            f"<p>Orders and products.</p>{tag}</body></html>",
            mimetype="text/html",
        )

    server = BackgroundServer(app, host="localhost").start()
    holder["key"] = WidgetSigner(secret=SECRET).issue_key(
        owner_id=OWNER.id, origins=[server.url], person_id=OWNER.id, now=container.fake_clock.now()
    )
    yield server.url
    server.stop()


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs /usr/bin/chromium (apt-get install chromium)")
@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_widget_setup_flow_in_a_real_browser(
    viewport: str, gateway: tuple[BackgroundServer, ChatTestContainer], shop: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    _, container = gateway
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORTS[viewport])
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(shop)

            def shot(n: int, state: str) -> None:
                page.screenshot(path=str(ARTIFACTS / f"{viewport}-{n}-{state}.png"))

            launcher = page.get_by_role("button", name="Chat with OmniOps")
            launcher.focus()
            page.keyboard.press("Enter")  # keyboard opens it
            box = page.get_by_role("textbox", name="Message")
            expect(box).to_be_focused()
            log = page.get_by_role("log", name="Conversation")
            expect(log).to_contain_text("What can I set up for you today?")
            shot(1, "open")

            box.fill("set up my WooCommerce store")
            page.keyboard.press("Enter")
            expect(log).to_contain_text("What is your WooCommerce store address?")
            shot(2, "question")

            box.fill("shop.example.com")
            page.keyboard.press("Enter")
            card = page.get_by_role("group", name="Approve this action?")
            expect(card).to_contain_text("Create WooCommerce API keys and sync your products")
            for text in ("woocommerce", "read_write products", "orders", "until revoked"):
                expect(card).to_contain_text(text)
            approve = card.get_by_role("button", name="Approve")
            expect(approve).to_be_focused()  # focus moves to the decision
            expect(card.get_by_role("button", name="Not now")).to_be_visible()
            shot(3, "consent")
            assert container.services.queue.enqueued == []

            approve.click()
            expect(log).to_contain_text("I'm setting up WooCommerce now")
            expect(card).to_contain_text("Approved")
            (run_id,) = container.services.queue.enqueued
            shot(4, "approved")

            steps = [
                ("queued", "Queued"),
                ("started", "Connecting to https://shop.example.com"),
                ("step_done", "Created WooCommerce API keys"),
                ("step_done", "Synced 47 products"),
                ("succeeded", "WooCommerce is connected: 47 products synced"),
            ]
            for seq, (kind, message) in enumerate(steps):
                container.events.publish(run_event(run_id, seq, kind, message))
            progress = page.locator(f".omniops-progress[data-run='{run_id}'] li")
            expect(progress).to_have_count(len(steps), timeout=15000)
            expect(progress.last).to_have_text("WooCommerce is connected: 47 products synced")
            shot(5, "progress")

            expect(page.get_by_role("button", name="Try: What's the status?")).to_be_visible()
            page.keyboard.press("Escape")
            expect(launcher).to_be_focused()  # closing returns focus to the launcher
            assert errors == []
        finally:
            browser.close()
    for n, state in enumerate(("open", "question", "consent", "approved", "progress"), start=1):
        assert (ARTIFACTS / f"{viewport}-{n}-{state}.png").stat().st_size > 1000


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs /usr/bin/chromium (apt-get install chromium)")
def test_widget_falls_back_to_polling_without_streams(
    gateway: tuple[BackgroundServer, ChatTestContainer], shop: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    _, container = gateway
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORTS["desktop"])
            page.add_init_script("delete window.ReadableStream;")  # a browser without fetch streaming
            page.goto(shop)
            page.get_by_role("button", name="Chat with OmniOps").click()
            expect(page.get_by_role("log", name="Conversation")).to_contain_text("What can I set up")
            container.events.publish(run_event("run_poll", 0, "queued", "Queued"))
            container.events.publish(run_event("run_poll", 1, "succeeded", "Stripe is connected"))
            steps = page.locator(".omniops-progress[data-run='run_poll'] li")
            expect(steps).to_have_count(2, timeout=15000)
            expect(steps.last).to_have_text("Stripe is connected")
        finally:
            browser.close()
