"""The consent page in headless Chromium: phone and desktop screenshots, then a real click on Approve."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from core.consent import params_hash
from core.ports import ConsentStatus
from executor.recipes import woocommerce
from tests.integration.consent.conftest import World, build_world

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


@pytest.fixture
def german_world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[World]:
    """The consent world whose WooCommerce setup declares what the real recipe declares."""
    w, stop = build_world(sqlite_engine, tmp_path, woo_declaration=woocommerce.DECLARATION)
    yield w
    stop()


def test_a_german_consent_page_shows_the_declaration_and_its_labels_in_german_and_approving_starts_the_run(
    german_world: World, chromium: str
) -> None:
    from playwright.sync_api import sync_playwright

    world = german_world
    link = world.ask(locale="de-DE")
    token = link.rsplit("/", 1)[1]
    record = world.store.get_by_token(token)
    assert record is not None and record.locale == "de-DE"
    assert record.declaration == woocommerce.DECLARATION  # stored exactly as the recipe declared it (English)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
            page = context.new_page()
            page.goto(link)
            assert page.evaluate("document.documentElement.lang") == "de"
            assert page.get_by_role("heading").first.inner_text() == (
                "Ihren WooCommerce-Shop verbinden: einen REST-API-Schlüssel mit Lese- und Schreibzugriff erstellen, "
                "Ihre Produkte und aktuellen Bestellungen synchronisieren und Webhooks registrieren, die den Katalog "
                "aktuell halten"
            )
            assert page.title().startswith("Bestätigen: Ihren WooCommerce-Shop verbinden")
            labels = [dt.text_content() for dt in page.locator("dt").all()]
            assert labels == [
                "Dienst",
                "Benötigte Berechtigungen",
                "Daten, auf die zugegriffen werden kann",
                "Wie lange",
                "Shop-Adresse",
                "Angefragt von",
            ]
            items = [li.text_content() for li in page.locator("dd li").all()]
            assert items == [
                "REST-API-Schlüssel mit Lese- und Schreibzugriff",
                "Webhooks erstellen",
                "Produkte",
                "Bestellungen (letzte 30 Tage)",
                "Shop-Einstellungen",
            ]
            body = page.locator("main").inner_text()
            assert "bis Sie die Zustimmung widerrufen" in body
            assert "Acme Coffee, über Alexa, am Donnerstag, 26. November um 12:00 UTC" in body
            assert "Dieser Link läuft am Donnerstag, 26. November um 12:15 UTC ab (in etwa 15 Minuten)." in body
            assert "Wenn Sie das nicht angefragt haben, drücken Sie „Ablehnen“." in body
            for english in ("Connect your", "Approve", "Permissions", "For how long", "Who asked", "expires"):
                assert english not in body, english
            assert page.get_by_role("button", name="Ablehnen").is_visible()
            page.screenshot(path=str(ARTIFACTS / "consent-de-phone-390x844.png"), full_page=True)
            assert world.store.get_by_token(token).status is ConsentStatus.PENDING  # type: ignore[union-attr]
            page.get_by_role("button", name="Bestätigen").click()
            page.wait_for_load_state()
            assert page.get_by_role("heading").first.inner_text() == "Bestätigt"
            assert "Erledigt – OmniOps legt los; Sie erhalten eine SMS, wenn es fertig ist." in page.content()
            assert page.get_by_role("link", name="Fortschritt ansehen").get_attribute("href", timeout=5000)
            context.close()
        finally:
            browser.close()
    approved = world.store.get_by_token(token)
    assert approved is not None and approved.status is ConsentStatus.APPROVED
    [run] = world.journal.runs.values()
    assert run.consent_id == approved.id and len(world.queue.enqueued) == 1
    # what the runner checks before it runs: the grant matches the recipe's hash for the run's params
    recipe_hash = params_hash("setup_integration", run.params, woocommerce.DECLARATION)
    granted = world.store.check_grant(run.consent_id, owner_id=run.owner_id, params_hash=recipe_hash)
    assert granted.id == approved.id
