"""WooCommerce key path (b): wp-admin driven by Playwright + system Chromium, and the one-shot login handoff.

How the owner's wp-admin password travels (and where it never goes)
-------------------------------------------------------------------
1. The setup run parks in ``waiting_for_owner`` and offers "sign in for me": a link to our sign-in page bound to
   the run by a single-use signed token (``gateway/callbacks``).
2. The owner types their wp-admin login there. The POST handler puts a :class:`WpAdminLogin` into the
   process-local :class:`LoginHandoff` keyed by run id (TTL a few minutes), then resumes the run with the
   payload ``{"signin": true}`` — the journal, the queue and the run events only ever see that flag.
3. The step :meth:`LoginHandoff.take` s the login exactly once (it is removed on read), uses it in a fresh
   headless browser whose cookies die with the browser context, and drops it. Nothing writes it to the vault,
   the journal, events, logs or screenshots (the login form is photographed empty; browser errors are
   reported by kind, never by Playwright's message, which could quote typed text).

The handoff lives in the memory of the process that serves the page *and* runs the worker (``omniops run``). With
separate worker processes the login is not found and the step fails with "sign in again" (it never travels
through Redis or the database); a deployment that wants the browser path with remote workers must route the
sign-in page to the worker host. That trade-off is deliberate: a password at rest anywhere is worse.

Screenshots of each step go to ``<artifacts_dir>/<run_id>/NN-name.png`` for support, each with the DOM it shows
(``NN-name.html``); before the snapshot of the generated key its fields are overwritten in the DOM (and the QR
code removed), so no image or snapshot carries it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.errors import ProviderRejected

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
KEYS_PATH = "/wp-admin/admin.php?page=wc-settings&tab=advanced&section=keys"
MASK = "•••••••• (masked)"
HANDOFF_TTL_SECONDS = 300.0
PROVIDER = "woocommerce"


@dataclass(frozen=True)
class WpAdminLogin:
    """A wp-admin username and password, held in memory only; its repr never shows the password."""

    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"WpAdminLogin(username={self.username!r}, password=<redacted>)"

    def __reduce__(self) -> Any:
        raise TypeError("WpAdminLogin cannot be pickled")


class LoginHandoff:
    """Process-local, single-use, short-lived hand-over of a login from the sign-in page to a run's step."""

    def __init__(self, *, ttl_seconds: float = HANDOFF_TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, WpAdminLogin]] = {}

    def __repr__(self) -> str:
        return f"LoginHandoff(pending={len(self._items)})"

    def put(self, run_id: str, login: WpAdminLogin) -> None:
        """Hold ``login`` for ``run_id`` until taken or expired (a second put replaces the first)."""
        with self._lock:
            self._purge()
            self._items[run_id] = (self._clock() + self._ttl, login)

    def take(self, run_id: str) -> WpAdminLogin | None:
        """The login for ``run_id``, removed as it is read; None when absent or expired."""
        with self._lock:
            self._purge()
            item = self._items.pop(run_id, None)
        return item[1] if item is not None else None

    def has(self, run_id: str) -> bool:
        """Whether a login waits for ``run_id`` (without taking it)."""
        with self._lock:
            self._purge()
            return run_id in self._items

    def _purge(self) -> None:
        now = self._clock()
        for key in [k for k, (deadline, _) in self._items.items() if deadline <= now]:
            del self._items[key]


@dataclass(frozen=True)
class CreatedKey:
    """A key generated in wp-admin. Only ever handed to the vault; repr hides the secret parts."""

    key_id: str
    description: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)


class WpAdminBrowser:
    """Drives a store's wp-admin in headless Chromium: create a Read/Write REST key, or revoke one."""

    def __init__(
        self,
        *,
        artifacts_dir: Path,
        executable_path: str = CHROMIUM,
        args: Sequence[str] = BROWSER_ARGS,
        timeout_ms: float = 20_000,
    ) -> None:
        self.artifacts_dir = artifacts_dir
        self.executable_path = executable_path
        self.args = list(args)
        self.timeout_ms = timeout_ms

    def __repr__(self) -> str:
        return f"WpAdminBrowser(artifacts_dir={str(self.artifacts_dir)!r})"

    # -------------------------------------------------------------------------------------------- public
    def create_key(self, store_url: str, login: WpAdminLogin, *, description: str, run_id: str) -> CreatedKey:
        """Log in, open WooCommerce > Settings > Advanced > REST API > Add key, create a Read/Write key, read it
        once, mask it on the page and screenshot each step under ``<artifacts_dir>/<run_id>/``."""
        created: CreatedKey = self._session(
            run_id, lambda page, shot: self._create(page, shot, store_url, login, description)
        )
        return created

    def revoke_key(self, store_url: str, login: WpAdminLogin, *, run_id: str, description: str, ending: str) -> bool:
        """Log in and click Revoke on the key row matching ``description`` (or the truncated key ``ending``);
        returns False when no such key is listed (already revoked)."""
        found: bool = self._session(
            run_id,
            lambda page, shot: self._revoke(page, shot, store_url, login, description=description, ending=ending),
        )
        return found

    # -------------------------------------------------------------------------------------------- plumbing
    def _session(self, run_id: str, work: Callable[[Any, Callable[[str], None]], Any]) -> Any:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        folder = self.artifacts_dir / run_id
        folder.mkdir(parents=True, exist_ok=True)
        counter = [len(list(folder.glob("*.png")))]  # a second session for the same run numbers on

        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=self.executable_path, args=self.args)
                try:
                    context = browser.new_context(viewport={"width": 1280, "height": 900})
                    page = context.new_page()
                    page.on("dialog", lambda dialog: dialog.accept())  # wp-admin's "revoke this key?" confirm
                    page.set_default_timeout(self.timeout_ms)

                    def shot(name: str) -> None:
                        counter[0] += 1
                        stem = folder / f"{counter[0]:02d}-{name}"
                        page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
                        stem.with_suffix(".html").write_text(str(page.content()))  # the (masked) DOM, for support

                    try:
                        return work(page, shot)
                    finally:
                        context.close()
                finally:
                    browser.close()
        except PlaywrightError as err:
            # Playwright's message may quote what was typed: report the kind only.
            log.warning("wp-admin browser step failed (%s)", type(err).__name__, extra={"run_id": run_id})
            raise ProviderRejected(
                "I couldn't finish the steps in your WordPress admin (the page did not behave as expected). "
                "Screenshots are kept with this job for support.",
                provider=PROVIDER,
            ) from None

    def _login(self, page: Any, shot: Callable[[str], None], store_url: str, login: WpAdminLogin, target: str) -> None:
        page.goto(f"{store_url}/wp-login.php?redirect_to={quote(target, safe='')}")
        shot("login")  # photographed empty: the password is typed after this
        page.fill("#user_login", login.username)
        page.fill("#user_pass", login.password)
        page.click("#wp-submit")
        page.wait_for_load_state()
        if page.locator("#login_error").count():
            page.fill("#user_pass", "")
            shot("login-refused")
            raise ProviderRejected(
                "WordPress did not accept that username and password, so I created nothing.", provider=PROVIDER
            )

    def _create(
        self, page: Any, shot: Callable[[str], None], store_url: str, login: WpAdminLogin, description: str
    ) -> CreatedKey:
        keys_url = f"{store_url}{KEYS_PATH}"
        self._login(page, shot, store_url, login, keys_url)
        shot("rest-api-keys")
        page.get_by_role("link", name="Add key").click()
        page.wait_for_load_state()
        shot("add-key")
        page.fill("#key_description", description)
        page.select_option("#key_permissions", "read_write")
        page.click("#update_api_key")
        page.wait_for_selector("#key_consumer_secret")
        consumer_key = str(page.input_value("#key_consumer_key"))
        consumer_secret = str(page.input_value("#key_consumer_secret"))
        key_id = str(page.input_value("#key_id"))
        page.evaluate(
            """(mask) => {
                for (const id of ['key_consumer_key', 'key_consumer_secret']) {
                    const el = document.getElementById(id);
                    if (el) { el.value = mask; el.setAttribute('value', mask); }
                }
                const qr = document.getElementById('keys-qrcode');
                if (qr) { qr.innerHTML = ''; }
            }""",
            MASK,
        )
        shot("key-created-masked")
        if not (consumer_key.startswith("ck_") and consumer_secret.startswith("cs_")):
            raise ProviderRejected(
                "WordPress did not show a new REST API key after 'Generate API key'.", provider=PROVIDER
            )
        return CreatedKey(
            key_id=key_id, description=description, consumer_key=consumer_key, consumer_secret=consumer_secret
        )

    def _revoke(
        self,
        page: Any,
        shot: Callable[[str], None],
        store_url: str,
        login: WpAdminLogin,
        *,
        description: str,
        ending: str,
    ) -> bool:
        keys_url = f"{store_url}{KEYS_PATH}"
        self._login(page, shot, store_url, login, keys_url)
        shot("rest-api-keys")
        rows = page.locator("table.keys tr")
        for i in range(rows.count()):
            row = rows.nth(i)
            title = str(row.locator(".title").inner_text()).strip()
            truncated = str(row.locator(".truncated_key").inner_text()).strip().lstrip("…")
            if title == description or (ending and truncated == ending):
                row.get_by_role("link", name="Revoke").click()
                page.wait_for_load_state()
                shot("key-revoked")
                return True
        return False
