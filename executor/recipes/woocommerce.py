"""WooCommerce auto-setup: "Set up WooCommerce" → "Done! 47 products synced."

Steps (each journaled, idempotent, undone in reverse on failure):

1. ``check_site``      the address answers and has the WooCommerce REST API; warns on plain HTTP
2. ``obtain_keys``     the owner approves OmniOps in their own wp-admin (``/wc-auth/v1/authorize``); WooCommerce
                       POSTs the new key to our callback, which stores it in the vault and resumes this run.
                       When the browser path is configured the owner may instead choose "sign in for me": they
                       type their wp-admin login on our page (held in memory once, see ``executor.browser``) and
                       the step creates a Read/Write key in wp-admin with headless Chromium
3. ``test_connection`` ``GET system_status`` with the new key
4. ``sync_products``   every product, 100 per page, one page in memory at a time
5. ``sync_orders``     orders of the last 30 days
6. ``register_webhooks`` product created/updated/deleted and order created → our verified webhook endpoint
                       (create-if-absent by topic and delivery URL; compensation deletes them)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from core.errors import CredentialsExpired, ProviderRejected
from core.i18n import t
from core.intents import ConsentTier
from core.ports import Clock, ConsentDeclaration
from executor.browser import LoginHandoff, WpAdminBrowser
from executor.catalog import Catalog
from executor.nonces import RunTokens
from executor.providers import woocommerce as woo
from executor.recipe import Recipe, RetryPolicy, Step, StepContext, StepResult

SERVICE = "woocommerce"
GUIDE_URL = "https://omniops.dev/guides/woocommerce"
WEBHOOK_TOPICS = ("product.created", "product.updated", "product.deleted", "order.created")
ORDER_WINDOW = timedelta(days=30)
APPROVAL_TIMEOUT_SECONDS = 30 * 60
WC_AUTH_PURPOSE = "wc-auth"
SIGNIN_PURPOSE = "wp-signin"

DECLARATION = ConsentDeclaration(
    action="Connect your WooCommerce store: create a Read/Write REST API key, sync your products and recent "
    "orders, and register webhooks that keep the catalog current",
    service=SERVICE,
    permissions=("Read/Write REST API key", "create webhooks"),
    data_access=("products", "orders (last 30 days)", "store settings"),
    duration="until you revoke it",
    tier=ConsentTier.VERIFIED,
)


def webhook_delivery_url(public_url: str, owner_id: str) -> str:
    """Where WooCommerce delivers this owner's webhooks."""
    return f"{public_url.rstrip('/')}/callbacks/woocommerce/webhook/{owner_id}"


class WooCommerceSetup:
    """Builds the ``woocommerce.setup`` recipe with its collaborators injected by the composition root."""

    def __init__(
        self,
        *,
        public_url: str,
        tokens: RunTokens,
        catalog: Catalog,
        clock: Clock,
        webhook_secret: Callable[[str], str],
        retry: RetryPolicy | None = None,
        handoff: LoginHandoff | None = None,
        browser: WpAdminBrowser | None = None,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.tokens = tokens
        self.catalog = catalog
        self.clock = clock
        self.webhook_secret = webhook_secret  # owner_id -> secret, derivable by the gateway
        self.retry = retry or RetryPolicy()
        self.handoff = handoff  # both set: offer "sign in for me" (key path b)
        self.browser = browser

    # -------------------------------------------------------------------------------------------- helpers
    def _client(self, ctx: StepContext) -> woo.WooCommerceClient:
        cred = ctx.credential(SERVICE)
        store_url = str(ctx.params["store_url"])
        if not cred or cred.get("store_url") != store_url:
            raise CredentialsExpired("No WooCommerce key for this store is stored any more.", provider=SERVICE)
        return client_for(ctx, cred)

    # -------------------------------------------------------------------------------------------- steps
    def check_site(self, ctx: StepContext) -> StepResult:
        info = woo.probe(ctx.http, str(ctx.params["store_url"]))
        if not info["https"]:
            ctx.emit(t(ctx.locale, "recipe.woocommerce.plain_http"))
        name = info.get("name") or ctx.params["store_url"]
        return StepResult(summary=t(ctx.locale, "recipe.woocommerce.found", name=name), output={"https": info["https"]})

    def obtain_keys(self, ctx: StepContext) -> StepResult:
        store_url = str(ctx.params["store_url"])
        existing = ctx.credential(SERVICE)
        if existing and existing.get("store_url") == store_url and existing.get("run_id") == ctx.run_id:
            return StepResult(
                summary=t(ctx.locale, "recipe.woocommerce.approved"), external_ids={"key_id": existing["key_id"]}
            )
        answer = self.await_key_approval(ctx, store_url, offer_signin=True)
        if answer.get("signin"):
            return self._keys_by_browser(ctx, store_url)
        return StepResult(
            summary=t(ctx.locale, "recipe.woocommerce.approved"), external_ids={"key_id": str(answer["key_id"])}
        )

    def await_key_approval(self, ctx: StepContext, store_url: str, *, offer_signin: bool) -> dict[str, Any]:
        """The owner's answer to the wc-auth approval link (the run waits for it): ``{key_id, credential_id}``
        once our callback has vaulted the new key, or ``{signin: true}``; a refusal raises ``ProviderRejected``.
        ``offer_signin`` adds the "sign in for me" link when the browser path is configured."""
        token = self.tokens.issue(ctx.run_id, WC_AUTH_PURPOSE)
        url = woo.authorize_url(
            store_url=store_url,
            scope="read_write",
            user_id=token,
            return_url=f"{self.public_url}/callbacks/woocommerce/return",
            callback_url=f"{self.public_url}/callbacks/woocommerce/keys",
        )
        reason = t(ctx.locale, "recipe.woocommerce.approve", url=url)
        if offer_signin and self.handoff is not None and self.browser is not None:
            signin = f"{self.public_url}/callbacks/woocommerce/signin/{self.tokens.issue(ctx.run_id, SIGNIN_PURPOSE)}"
            reason = t(ctx.locale, "recipe.woocommerce.approve_or_signin", url=url, signin=signin)
        answer = ctx.wait_for_owner(reason, timeout_seconds=APPROVAL_TIMEOUT_SECONDS)
        if answer.get("denied"):
            raise ProviderRejected(t(ctx.locale, "recipe.woocommerce.declined"), provider=SERVICE)
        return answer

    def _keys_by_browser(self, ctx: StepContext, store_url: str) -> StepResult:
        """Key path (b): use the owner's login once to create a Read/Write key in wp-admin, then vault it."""
        login = self.handoff.take(ctx.run_id) if self.handoff is not None else None
        if login is None or self.browser is None:
            raise ProviderRejected(t(ctx.locale, "recipe.woocommerce.signin_gone"), provider=SERVICE)
        description = f"OmniOps - run {ctx.run_id}"
        ctx.emit(t(ctx.locale, "recipe.woocommerce.signing_in"))
        key = self.browser.create_key(store_url, login, description=description, run_id=ctx.run_id)
        del login
        fields = {
            "store_url": store_url,
            "consumer_key": key.consumer_key,
            "consumer_secret": key.consumer_secret,
            "key_id": key.key_id,
            "key_permissions": "read_write",
            "description": description,
            "created_by": "browser",
            "run_id": ctx.run_id,
        }
        ctx.store_credential(SERVICE, fields, label=f"WooCommerce {store_url}")
        return StepResult(
            summary=t(ctx.locale, "recipe.woocommerce.key_created", description=description),
            external_ids={"key_id": key.key_id},
            output={"key_path": "browser"},
        )

    def test_connection(self, ctx: StepContext) -> StepResult:
        status = self._client(ctx).system_status()
        env = status.get("environment", {}) if isinstance(status, dict) else {}
        settings = status.get("settings", {}) if isinstance(status, dict) else {}
        return StepResult(
            summary=t(ctx.locale, "recipe.woocommerce.tested"),
            output={"wc_version": env.get("version"), "currency": settings.get("currency")},
        )

    def sync_products(self, ctx: StepContext) -> StepResult:
        return self.products_with(ctx, self._client(ctx))

    def products_with(self, ctx: StepContext, client: woo.WooCommerceClient) -> StepResult:
        """Upsert every product of the store into the synced catalog, a page at a time."""
        synced = 0
        pages = client.iter_pages("/products")
        for page_no, total_pages, total, items in pages:
            synced += self.catalog.upsert_products(ctx.owner_id, items)
            if total_pages > 1 and (page_no % 10 == 0 or page_no == total_pages):
                ctx.emit(t(ctx.locale, "recipe.woocommerce.sync_progress", synced=synced, total=total))
        return StepResult(
            summary=t(ctx.locale, "recipe.woocommerce.products_synced", count=synced), output={"products": synced}
        )

    def sync_orders(self, ctx: StepContext) -> StepResult:
        return self.orders_with(ctx, self._client(ctx))

    def orders_with(self, ctx: StepContext, client: woo.WooCommerceClient) -> StepResult:
        """Upsert the orders of the last 30 days into the synced catalog."""
        after = (self.clock.now() - ORDER_WINDOW).strftime("%Y-%m-%dT%H:%M:%S")
        synced = 0
        for _page, _pages, _total, items in client.iter_pages("/orders", params={"after": after}):
            synced += self.catalog.upsert_orders(ctx.owner_id, items)
        return StepResult(
            summary=t(ctx.locale, "recipe.woocommerce.orders_synced", count=synced), output={"orders": synced}
        )

    def register_webhooks(self, ctx: StepContext) -> StepResult:
        client = self._client(ctx)
        delivery = webhook_delivery_url(self.public_url, ctx.owner_id)
        existing = {(h.get("topic"), h.get("delivery_url")): h for h in client.list_webhooks()}
        ids: dict[str, str] = {}
        for topic in WEBHOOK_TOPICS:
            hook = existing.get((topic, delivery))
            if hook is None or hook.get("status") == "disabled":
                hook = client.create_webhook(
                    name=f"OmniOps {topic}",
                    topic=topic,
                    delivery_url=delivery,
                    secret=self.webhook_secret(ctx.owner_id),
                )
            ids[topic] = str(hook["id"])
        return StepResult(summary=t(ctx.locale, "recipe.woocommerce.webhooks_registered"), external_ids=ids)

    def unregister_webhooks(self, ctx: StepContext, result: StepResult) -> None:
        client = self._client(ctx)
        for hook_id in result.external_ids.values():
            try:
                client.delete_webhook(int(hook_id))
            except ProviderRejected:  # already gone
                continue

    def forget_catalog(self, ctx: StepContext, result: StepResult) -> None:
        self.catalog.forget(ctx.owner_id)

    # -------------------------------------------------------------------------------------------- recipe
    def recipe(self) -> Recipe:
        return Recipe(
            name="woocommerce.setup",
            intent="setup_integration",
            service=SERVICE,
            declaration=DECLARATION,
            required=("store_url",),
            prompts={"store_url": "What is your WooCommerce store address?"},
            expected_seconds=120,
            manual_guide_url=GUIDE_URL,
            summarize=summarize,
            steps=(
                Step(id="check_site", title="Check the store", run=self.check_site, retry=self.retry),
                Step(id="obtain_keys", title="Get API keys", run=self.obtain_keys, retry=self.retry),
                Step(id="test_connection", title="Test the connection", run=self.test_connection, retry=self.retry),
                Step(
                    id="sync_products",
                    title="Sync products",
                    run=self.sync_products,
                    compensate=self.forget_catalog,
                    retry=self.retry,
                ),
                Step(id="sync_orders", title="Sync recent orders", run=self.sync_orders, retry=self.retry),
                Step(
                    id="register_webhooks",
                    title="Register webhooks",
                    run=self.register_webhooks,
                    compensate=self.unregister_webhooks,
                    retry=self.retry,
                ),
            ),
        )


def summarize(done: Mapping[str, StepResult], locale: str) -> str:
    """The owner's "done" message: the true product count and a next step."""
    products = int(done["sync_products"].output.get("products", 0)) if "sync_products" in done else 0
    return t(locale, "recipe.woocommerce.done", count=products)


def client_for(ctx: StepContext, cred: Mapping[str, str]) -> woo.WooCommerceClient:
    """A REST client for the store and key of a stored credential."""
    return woo.WooCommerceClient(
        ctx.http,
        store_url=cred["store_url"],
        consumer_key=cred["consumer_key"],
        consumer_secret=cred["consumer_secret"],
    )


def key_secret_fields(payload: Mapping[str, Any], *, store_url: str, run_id: str) -> dict[str, str]:
    """What the vault keeps for a WooCommerce key delivered by the wc-auth callback."""
    return {
        "store_url": store_url,
        "consumer_key": str(payload["consumer_key"]),
        "consumer_secret": str(payload["consumer_secret"]),
        "key_id": str(payload["key_id"]),
        "key_permissions": str(payload.get("key_permissions", "")),
        "run_id": run_id,
    }
