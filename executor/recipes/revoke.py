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

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.errors import CredentialsExpired, ProviderRejected
from core.i18n import plural, t
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


def _delete_ours(
    items: Iterable[Mapping[str, Any]],
    *,
    ours: Callable[[Mapping[str, Any]], bool],
    delete: Callable[[Mapping[str, Any]], object],
) -> int:
    """Delete the webhooks (or endpoints) that are ours, never anyone else's; returns how many went."""
    deleted = 0
    for item in items:
        if not ours(item):
            continue
        try:
            delete(item)
        except ProviderRejected:  # deleted meanwhile
            continue
        deleted += 1
    return deleted


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
            return StepResult(summary=t(ctx.locale, "recipe.revoke.woo_no_key"), output={"connected": False})
        ours = woo_setup.webhook_delivery_url(self.public_url, ctx.owner_id)
        client = self._client(cred, ctx)
        try:
            deleted = _delete_ours(
                client.list_webhooks(),
                ours=lambda hook: hook.get("delivery_url") == ours,
                delete=lambda hook: client.delete_webhook(int(hook["id"])),
            )
        except CredentialsExpired:
            # the owner already revoked the key in wp-admin: the webhooks can't be reached with it any more
            ctx.emit(t(ctx.locale, "recipe.revoke.woo_key_dead"))
            return StepResult(
                summary=t(ctx.locale, "recipe.revoke.woo_hooks_kept"),
                output={"connected": True, "webhooks_deleted": 0, "key_dead": True},
            )
        return StepResult(
            summary=plural(ctx.locale, "recipe.revoke.webhooks_deleted", deleted),
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
                summary=t(ctx.locale, "recipe.revoke.key_revoked", name=name)
                if found
                else t(ctx.locale, "recipe.revoke.key_already_revoked"),
                output={"key_revoked": True, "manual": False},
            )
        where = {"menu": KEYS_MENU, "name": name, "ending": ending, "store_url": cred["store_url"]}
        instructions = t(ctx.locale, "recipe.revoke.key_manual", **where)
        return StepResult(summary=instructions, output={"key_revoked": False, "manual": True})

    def forget_credentials(self, ctx: StepContext) -> StepResult:
        count = ctx.forget_credentials(woo_setup.SERVICE)
        summary = t(ctx.locale, "recipe.revoke.woo_key_deleted") if count else ""
        return StepResult(summary=summary, output={"forgotten": count})

    def forget_catalog(self, ctx: StepContext) -> StepResult:
        self.catalog.forget(ctx.owner_id)
        return StepResult(summary=t(ctx.locale, "recipe.revoke.catalog_forgotten"))

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


def summarize_woo(done: Mapping[str, StepResult], locale: str) -> str:
    """The owner's "done" sentence for ``woocommerce.revoke`` (with the manual key step when one remains)."""
    hooks = done.get("delete_webhooks")
    if hooks is not None and not hooks.output.get("connected", True):
        return t(locale, "recipe.revoke.woo_not_connected")
    parts = [t(locale, "recipe.revoke.woo_disconnected")]
    if hooks is not None:
        parts.append(hooks.summary + ".")
    parts.append(t(locale, "recipe.revoke.woo_forgotten"))
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
            return StepResult(summary=t(ctx.locale, "recipe.revoke.stripe_not_stored"), output={"connected": False})
        client = StripeClient(
            ctx.http, secret_key=cred["access_token"], api_base=self.api_base, account=cred.get("stripe_user_id")
        )
        ours = stripe_setup.webhook_delivery_url(self.public_url, ctx.owner_id)
        try:
            deleted = _delete_ours(
                client.list_webhook_endpoints(),
                ours=lambda endpoint: endpoint.get("url") == ours,
                delete=lambda endpoint: client.delete_webhook_endpoint(str(endpoint["id"])),
            )
        except CredentialsExpired:
            return StepResult(
                summary=t(ctx.locale, "recipe.revoke.stripe_token_dead"),
                output={"connected": True, "webhooks_deleted": 0},
            )
        return StepResult(
            summary=plural(ctx.locale, "recipe.revoke.endpoints_deleted", deleted),
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
            summary = t(ctx.locale, "recipe.revoke.stripe_already_disconnected")
            return StepResult(summary=summary, external_ids={"account": account})
        return StepResult(summary=t(ctx.locale, "recipe.revoke.stripe_deauthorized"), external_ids={"account": account})

    def forget_credentials(self, ctx: StepContext) -> StepResult:
        count = ctx.forget_credentials(stripe_setup.SERVICE)
        summary = t(ctx.locale, "recipe.revoke.stripe_token_deleted") if count else ""
        return StepResult(summary=summary, output={"forgotten": count})

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


def summarize_stripe(done: Mapping[str, StepResult], locale: str) -> str:
    """The owner's "done" sentence for ``stripe.revoke``."""
    hooks = done.get("delete_webhooks")
    if hooks is not None and not hooks.output.get("connected", True):
        return t(locale, "recipe.revoke.stripe_not_connected")
    return t(locale, "recipe.revoke.stripe_disconnected")
