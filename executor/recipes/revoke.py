"""``revoke_access`` for WooCommerce and Stripe: remove what we created upstream, then forget the credentials.

``woocommerce.revoke``
    1. ``delete_webhooks``   every webhook whose delivery URL is ours (``DELETE /webhooks/{id}?force=true``)
    2. ``revoke_key``        WooCommerce has no REST route to delete API keys: with the owner's wp-admin login in
                             the one-shot handoff for this run, revoke it in wp-admin with the browser; otherwise
                             the run summary says exactly where to click
    3. ``forget_credentials`` revoke and erase the key in our vault
    4. ``forget_catalog``    delete the synced products and orders

``stripe.revoke``
    1. ``delete_webhooks``   our webhook endpoints on the connected account
    2. ``deauthorize``       ``POST /oauth/deauthorize`` (the connected account's tokens stop working)
    3. ``forget_credentials`` revoke and erase the token in our vault

Every step is idempotent (a crash and retry repeats it harmlessly): a missing credential means there is nothing
left to remove upstream, and "not connected" answers from Stripe count as done.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import CredentialsExpired, ProviderRejected
from core.intents import ConsentTier
from core.ports import ConsentDeclaration
from executor.browser import LoginHandoff, WpAdminBrowser
from executor.catalog import Catalog
from executor.providers import woocommerce as woo
from executor.providers.stripe import StripeClient, StripeConnect
from executor.recipe import Recipe, RetryPolicy, Step, StepContext, StepResult
from executor.recipes import stripe as stripe_setup
from executor.recipes import woocommerce as woo_setup

KEYS_MENU = "WooCommerce > Settings > Advanced > REST API"

WOO_DECLARATION = ConsentDeclaration(
    action="Disconnect your WooCommerce store: delete the webhooks OmniOps registered, delete the API key we hold "
    "and forget the synced catalog",
    service=woo_setup.SERVICE,
    permissions=("delete webhooks",),
    data_access=("webhooks", "API key"),
    duration="one-time",
    tier=ConsentTier.CONFIRM,
)
STRIPE_DECLARATION = ConsentDeclaration(
    action="Disconnect your Stripe account: delete the webhook endpoint OmniOps registered, deauthorize OmniOps "
    "and delete the token we hold",
    service=stripe_setup.SERVICE,
    permissions=("delete webhook endpoints", "deauthorize the Connect application"),
    data_access=("webhook endpoints",),
    duration="one-time",
    tier=ConsentTier.CONFIRM,
)


def _key_name(cred: Mapping[str, str]) -> str:
    return cred.get("description") or "OmniOps - API (…)"


class WooCommerceRevoke:
    """Builds ``woocommerce.revoke``."""

    def __init__(
        self,
        *,
        public_url: str,
        catalog: Catalog,
        handoff: LoginHandoff | None = None,
        browser: WpAdminBrowser | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.catalog = catalog
        self.handoff = handoff
        self.browser = browser
        self.retry = retry or RetryPolicy()

    def _client(self, cred: Mapping[str, str], ctx: StepContext) -> woo.WooCommerceClient:
        return woo.WooCommerceClient(
            ctx.http,
            store_url=cred["store_url"],
            consumer_key=cred["consumer_key"],
            consumer_secret=cred["consumer_secret"],
        )

    def delete_webhooks(self, ctx: StepContext) -> StepResult:
        cred = ctx.credential(woo_setup.SERVICE)
        if not cred:
            return StepResult(summary="No WooCommerce key is stored", output={"connected": False})
        ours = woo_setup.webhook_delivery_url(self.public_url, ctx.owner_id)
        client = self._client(cred, ctx)
        deleted = 0
        try:
            for hook in client.list_webhooks():
                if hook.get("delivery_url") == ours:
                    try:
                        client.delete_webhook(int(hook["id"]))
                    except ProviderRejected:  # deleted meanwhile
                        continue
                    deleted += 1
        except CredentialsExpired:
            # the owner already revoked the key in wp-admin: the webhooks can't be reached with it any more
            ctx.emit("The stored WooCommerce key no longer works, so I could not remove the webhooks myself.")
            return StepResult(
                summary="Webhooks not removed: the key was already revoked in WooCommerce",
                output={"connected": True, "webhooks_deleted": 0, "key_dead": True},
            )
        return StepResult(
            summary=f"Deleted {deleted} webhook{'s' if deleted != 1 else ''}",
            output={"connected": True, "webhooks_deleted": deleted},
        )

    def revoke_key(self, ctx: StepContext) -> StepResult:
        cred = ctx.credential(woo_setup.SERVICE)
        if not cred:
            return StepResult(summary="", output={"key_revoked": False, "manual": False})
        name = _key_name(cred)
        ending = cred.get("consumer_key", "")[-7:]
        login = self.handoff.take(ctx.run_id) if self.handoff is not None else None
        if login is not None and self.browser is not None:
            found = self.browser.revoke_key(
                cred["store_url"], login, run_id=ctx.run_id, description=name, ending=ending
            )
            del login
            return StepResult(
                summary=f'Revoked the key "{name}" in your WordPress admin' if found else "The key was already revoked",
                output={"key_revoked": True, "manual": False},
            )
        instructions = (
            f"WooCommerce has no API to delete keys, so please revoke it yourself: {KEYS_MENU} > Revoke on the key "
            f'named "{name}" (ending in …{ending}) in {cred["store_url"]}/wp-admin'
        )
        return StepResult(summary=instructions, output={"key_revoked": False, "manual": True})

    def forget_credentials(self, ctx: StepContext) -> StepResult:
        count = ctx.forget_credentials(woo_setup.SERVICE)
        return StepResult(summary="Deleted the key from OmniOps' vault" if count else "", output={"forgotten": count})

    def forget_catalog(self, ctx: StepContext) -> StepResult:
        self.catalog.forget(ctx.owner_id)
        return StepResult(summary="Forgot the synced catalog")

    def recipe(self) -> Recipe:
        return Recipe(
            name="woocommerce.revoke",
            intent="revoke_access",
            service=woo_setup.SERVICE,
            declaration=WOO_DECLARATION,
            expected_seconds=20,
            manual_guide_url=woo_setup.GUIDE_URL,
            summarize=summarize_woo,
            steps=(
                Step(id="delete_webhooks", title="Delete our webhooks", run=self.delete_webhooks, retry=self.retry),
                Step(id="revoke_key", title="Revoke the API key", run=self.revoke_key, retry=self.retry),
                Step(
                    id="forget_credentials",
                    title="Delete the key we hold",
                    run=self.forget_credentials,
                    retry=self.retry,
                ),
                Step(id="forget_catalog", title="Forget the synced catalog", run=self.forget_catalog, retry=self.retry),
            ),
        )


def summarize_woo(done: Mapping[str, StepResult]) -> str:
    """The owner's "done" sentence for ``woocommerce.revoke`` (with the manual key step when one remains)."""
    hooks = done.get("delete_webhooks")
    if hooks is not None and not hooks.output.get("connected", True):
        return "WooCommerce was not connected, so there was nothing to remove."
    parts = ["WooCommerce disconnected."]
    if hooks is not None:
        parts.append(hooks.summary + ".")
    parts.append("Deleted the key from OmniOps and forgot the synced catalog.")
    key = done.get("revoke_key")
    if key is not None and key.summary:
        parts.append(key.summary + ".")
    return " ".join(parts)


class StripeRevoke:
    """Builds ``stripe.revoke``."""

    def __init__(
        self, *, public_url: str, connect: StripeConnect, api_base: str, retry: RetryPolicy | None = None
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.connect = connect
        self.api_base = api_base
        self.retry = retry or RetryPolicy()

    def delete_webhooks(self, ctx: StepContext) -> StepResult:
        cred = ctx.credential(stripe_setup.SERVICE)
        if not cred or not cred.get("access_token"):
            return StepResult(summary="No Stripe connection is stored", output={"connected": False})
        client = StripeClient(
            ctx.http, secret_key=cred["access_token"], api_base=self.api_base, account=cred.get("stripe_user_id")
        )
        ours = f"{self.public_url}/callbacks/stripe/webhook/{ctx.owner_id}"
        deleted = 0
        try:
            for endpoint in client.list_webhook_endpoints():
                if endpoint.get("url") == ours:
                    try:
                        client.delete_webhook_endpoint(str(endpoint["id"]))
                    except ProviderRejected:  # deleted meanwhile
                        continue
                    deleted += 1
        except CredentialsExpired:
            return StepResult(
                summary="The Stripe token no longer works (already disconnected on Stripe)",
                output={"connected": True, "webhooks_deleted": 0},
            )
        return StepResult(
            summary=f"Deleted {deleted} webhook endpoint{'s' if deleted != 1 else ''}",
            output={"connected": True, "webhooks_deleted": deleted},
        )

    def deauthorize(self, ctx: StepContext) -> StepResult:
        cred = ctx.credential(stripe_setup.SERVICE)
        account = cred.get("stripe_user_id") if cred else None
        if not account:
            return StepResult(summary="", output={"deauthorized": False})
        try:
            self.connect.deauthorize(account)
        except ProviderRejected as err:
            if err.provider_code != "invalid_client" or "not connected" not in err.message:
                raise
            return StepResult(summary="Stripe had already disconnected OmniOps", external_ids={"account": account})
        return StepResult(summary="Deauthorized OmniOps on Stripe", external_ids={"account": account})

    def forget_credentials(self, ctx: StepContext) -> StepResult:
        count = ctx.forget_credentials(stripe_setup.SERVICE)
        return StepResult(summary="Deleted the token from OmniOps' vault" if count else "", output={"forgotten": count})

    def recipe(self) -> Recipe:
        return Recipe(
            name="stripe.revoke",
            intent="revoke_access",
            service=stripe_setup.SERVICE,
            declaration=STRIPE_DECLARATION,
            expected_seconds=15,
            manual_guide_url=stripe_setup.GUIDE_URL,
            summarize=summarize_stripe,
            steps=(
                Step(
                    id="delete_webhooks",
                    title="Delete our webhook endpoint",
                    run=self.delete_webhooks,
                    retry=self.retry,
                ),
                Step(id="deauthorize", title="Deauthorize OmniOps on Stripe", run=self.deauthorize, retry=self.retry),
                Step(
                    id="forget_credentials",
                    title="Delete the token we hold",
                    run=self.forget_credentials,
                    retry=self.retry,
                ),
            ),
        )


def summarize_stripe(done: Mapping[str, StepResult]) -> str:
    """The owner's "done" sentence for ``stripe.revoke``."""
    hooks = done.get("delete_webhooks")
    if hooks is not None and not hooks.output.get("connected", True):
        return "Stripe was not connected, so there was nothing to remove."
    return "Stripe disconnected: webhook endpoint deleted, OmniOps deauthorized and the token deleted."
