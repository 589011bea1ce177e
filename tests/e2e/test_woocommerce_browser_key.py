"""WooCommerce key path (b), end to end: the owner chooses "sign in for me", types their wp-admin login on our
page, and the worker creates one Read/Write key in the sandbox's wp-admin with headless Chromium, keeps masked
screenshots with the run, and never lets the password or the key reach the journal, events, logs or snapshots."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from executor.providers.woocommerce import WooCommerceClient
from tests.e2e.stack import LINK_RE, Stack
from tests.e2e.test_woocommerce_setup import approve_consent_link

ARTIFACTS = Path("test-artifacts/woocommerce-browser")
PASSWORD = "demo-admin-pass"
SIGNIN_RE = re.compile(r"sign in for you: (\S+)")
pytestmark = [pytest.mark.browser, pytest.mark.viewport(1280, 800)]


@pytest.fixture(autouse=True)
def _artifacts() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def every_stored_value(engine: sa.Engine) -> str:
    """Every row of every table in the database, as text (the journal, events, audit, consents, vault...)."""
    meta = sa.MetaData()
    meta.reflect(engine)
    parts: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
    return "\n".join(parts)


def test_sign_in_for_me_creates_one_key_in_wp_admin_and_keeps_password_and_key_out_of_every_record(
    stack: Stack, page: Page, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stack.siri(f"set up woocommerce at {stack.store_url('demo')}")
    link = LINK_RE.search(stack.wait_text(LINK_RE))
    assert link is not None
    approve_consent_link(page, link.group(0), "browser-key")
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None
    stack.wait_run(run.id, ("waiting_for_owner",))
    signin = SIGNIN_RE.search(stack.wait_text(SIGNIN_RE))
    assert signin is not None

    page.goto(signin.group(1))
    assert "sign in" in page.content().lower()
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.screenshot(path=str(ARTIFACTS / "signin.png"), full_page=True)
    page.click("#signin")
    page.wait_for_load_state()
    assert "creating the key" in page.content()

    done = stack.wait_run(run.id, ("succeeded", "failed", "compensated"), timeout=90)
    assert done.status == "succeeded", done.error
    assert done.summary == "Done! 47 products synced. Try: 'Show me your best sellers'"

    # exactly one key, created through wp-admin (not wc-auth), named after the run, Read/Write, and it works
    counters = stack.sandbox.counters()
    assert counters.get("woocommerce.keys_created") == 1
    assert counters.get("woocommerce.wc_auth_granted", 0) == 0
    store = stack.sandbox.woo.store("demo")
    ours = [k for k in store.keys.values() if k.description == f"OmniOps - run {run.id}"]
    assert len(ours) == 1 and ours[0].permissions == "read_write"
    vault = stack.container.vault_services.vault
    cred = vault.find(stack.seed.owner_id, "woocommerce")
    assert cred is not None
    fields = vault.get(cred.id, owner_id=stack.seed.owner_id, run_id=None, step_id=None).reveal()
    assert fields["created_by"] == "browser" and fields["consumer_secret"] == ours[0].consumer_secret
    with httpx.Client() as http:
        client = WooCommerceClient(
            http,
            store_url=stack.store_url("demo"),
            consumer_key=fields["consumer_key"],
            consumer_secret=fields["consumer_secret"],
        )
        assert "environment" in client.system_status()
    assert stack.container.catalog.product_count(stack.seed.owner_id) == 47

    # the login was used once: nothing left in memory, and the link can't be used again
    assert not stack.container.wp_logins.has(run.id)  # type: ignore[attr-defined]
    again = stack.http.get(signin.group(1))
    assert again.status_code == 409

    # support screenshots (and their DOM) kept with the run, with the key masked
    folder = stack.container.settings.var_dir / "runs" / run.id
    shots = sorted(p.name for p in folder.glob("*.png"))
    assert [re.sub(r"^\d+-", "", s) for s in shots] == [
        "login.png",
        "rest-api-keys.png",
        "add-key.png",
        "key-created-masked.png",
    ]
    masked = (folder / shots[-1]).with_suffix(".html").read_text()
    assert "(masked)" in masked

    secrets = [fields["consumer_secret"], fields["consumer_key"], PASSWORD]
    snapshots = "\n".join(p.read_text() for p in folder.glob("*.html"))
    stored = every_stored_value(stack.container.engine)
    events = "\n".join(e.message for e in stack.container.journal.events(run.id))
    texts = "\n".join(stack.texts())
    for secret in secrets:
        assert secret not in snapshots
        assert secret not in stored
        assert secret not in events
        assert secret not in texts
    # (the consumer key is OAuth 1.0a's public identifier: httpx logs it in request URLs to plain-HTTP stores,
    # and the JSON log formatter masks it; the secret and the password must never reach a log record)
    assert fields["consumer_secret"] not in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in (stack.container.settings.var_dir / "omniops.db").read_bytes().decode("latin-1")
