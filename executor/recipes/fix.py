"""``fix_integration`` for WooCommerce and Stripe: find what is broken, repair only that, and say so.

``woocommerce.fix`` (the store comes from the stored credential: the intent carries only ``service``)
    1. ``diagnose``        ``GET system_status`` with the stored key (401/403: the key is dead); with a live key,
                           list the webhooks: ours (our delivery URL) missing, paused or disabled
    2. ``replace_key``     only for a dead key: the owner approves a new key in their own wp-admin (the wc-auth path
                           of ``woocommerce.setup``; our callback vaults it), then the dead one is erased from the vault
    3. ``test_connection`` ``GET system_status`` with the (new) key
    4. ``repair_webhooks`` per topic: re-activate ours when paused/disabled, create it when absent; webhooks that are
                           not ours are never touched (compensation deletes what it created, re-pauses what it woke)
    5. ``resync``          products and recent orders, the same code as the setup

``stripe.fix``
    1. ``diagnose``         ``GET /v1/account`` with the connected account's token (401/403: deauthorized); with a
                            live token, our webhook endpoint missing or disabled
    2. ``reconnect``        only for a dead token: Connect OAuth as in ``stripe.setup``; the old token is erased
    3. ``repair_webhook``   enable ours again, or create it (``Idempotency-Key = run_id:step_id``)
    4. ``test_payment``, ``refund``  only after a reconnect: the setup's $1.00 test payment and its refund

Every step is idempotent: a crash and retry finds the repaired state and repeats nothing. A run that finds nothing
broken creates nothing and says so ("Nothing was broken: …").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import CredentialsExpired, ProviderRejected
from core.i18n import plural, t
from core.intents import ConsentTier
from core.ports import ConsentDeclaration
from executor.providers import woocommerce as woo
from executor.providers.stripe import StripeClient
from executor.recipe import Recipe, RetryPolicy, Step, StepContext, StepResult
from executor.recipes import stripe as stripe_setup
from executor.recipes import woocommerce as woo_setup

WOO_RECIPE = "woocommerce.fix"
WOO_KEY_STEP = "replace_key"  # the step the wc-auth callback resumes
STRIPE_RECIPE = "stripe.fix"
STRIPE_CONNECT_STEP = "reconnect"  # the step the Stripe OAuth callback resumes
DEAD = (401, 403)

WOO_DECLARATION = ConsentDeclaration(
    action="Repair your WooCommerce connection: test the API key, replace it if WooCommerce rejects it (you approve "
    "the new key in your own wp-admin), re-create missing or disabled OmniOps webhooks and re-sync your catalog",
    service=woo_setup.SERVICE,
    permissions=("test the REST API key", "replace a rejected key (you approve it)", "create and re-activate webhooks"),
    data_access=("store status", "webhooks", "products", "orders (last 30 days)"),
    duration="one-time",
    tier=ConsentTier.CONFIRM,
)
STRIPE_DECLARATION = ConsentDeclaration(
    action="Repair your Stripe connection: test the token, reconnect through Stripe Connect if Stripe rejects it "
    "(you approve on Stripe, then a $1.00 test payment is made and refunded at once), and re-create or enable "
    "OmniOps' webhook endpoint",
    service=stripe_setup.SERVICE,
    permissions=("test the Stripe token", "reconnect Stripe Connect (you approve it)", "create webhook endpoints"),
    data_access=("account profile", "webhook endpoints", "test payments and refunds"),
    duration="one-time",
    tier=ConsentTier.CONFIRM,
)


def _dead(err: CredentialsExpired | ProviderRejected) -> bool:
    return isinstance(err, CredentialsExpired) or err.http_status in DEAD


def _join(parts: list[str]) -> str:
    return ", ".join(p for p in parts if p)


def _sentence(*parts: str) -> str:
    """Catalog fragments (written to sit inside a sentence) as one step summary: joined, first letter upper."""
    text = _join(list(parts))
    return text[:1].upper() + text[1:]


ENDPOINT_STATE = {
    "ok": "recipe.fix.stripe.endpoint_ok",
    "missing": "recipe.fix.stripe.endpoint_missing",
    "disabled": "recipe.fix.stripe.endpoint_disabled",
}


# ------------------------------------------------------------------------------------------------ WooCommerce
class WooCommerceFix:
    """Builds ``woocommerce.fix`` on top of the setup's approval path and sync code."""

    def __init__(self, *, setup: woo_setup.WooCommerceSetup, retry: RetryPolicy | None = None) -> None:
        self.setup = setup
        self.retry = retry or setup.retry

    def _cred(self, ctx: StepContext) -> Mapping[str, str]:
        cred = ctx.credential(woo_setup.SERVICE)
        if not cred or not cred.get("store_url"):
            raise ProviderRejected(t(ctx.locale, "recipe.fix.woo.not_connected"), provider=woo_setup.SERVICE)
        return cred

    def _ours(self, ctx: StepContext, client: woo.WooCommerceClient) -> dict[str, list[dict[str, Any]]]:
        """Our webhooks (our delivery URL) by topic; nobody else's."""
        delivery = woo_setup.webhook_delivery_url(self.setup.public_url, ctx.owner_id)
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for hook in client.list_webhooks():
            if hook.get("delivery_url") == delivery:
                by_topic.setdefault(str(hook.get("topic")), []).append(hook)
        return by_topic

    @staticmethod
    def _broken(by_topic: Mapping[str, list[dict[str, Any]]]) -> tuple[list[str], list[str]]:
        """(missing topics, topics whose webhooks are all paused/disabled)."""
        missing, inactive = [], []
        for topic in woo_setup.WEBHOOK_TOPICS:
            hooks = by_topic.get(topic, [])
            if not hooks:
                missing.append(topic)
            elif not any(h.get("status") == "active" for h in hooks):
                inactive.append(topic)
        return missing, inactive

    # -------------------------------------------------------------------------------------------- steps
    def diagnose(self, ctx: StepContext) -> StepResult:
        cred = self._cred(ctx)
        client = woo_setup.client_for(ctx, cred)
        try:
            client.system_status()
        except (CredentialsExpired, ProviderRejected) as err:
            if not _dead(err):
                raise
            return StepResult(
                summary=_sentence(t(ctx.locale, "recipe.fix.woo.key_dead")),
                output={"store_url": cred["store_url"], "key_dead": True},
            )
        missing, inactive = self._broken(self._ours(ctx, client))
        parts = [t(ctx.locale, "recipe.fix.woo.key_ok")]
        if missing:
            parts.append(plural(ctx.locale, "recipe.fix.woo.hooks_missing", len(missing)))
        if inactive:
            parts.append(plural(ctx.locale, "recipe.fix.woo.hooks_inactive", len(inactive)))
        if not missing and not inactive:
            parts.append(t(ctx.locale, "recipe.fix.woo.hooks_ok", count=len(woo_setup.WEBHOOK_TOPICS)))
        return StepResult(
            summary=_sentence(*parts),
            output={"store_url": cred["store_url"], "key_dead": False, "missing": missing, "inactive": inactive},
        )

    def replace_key(self, ctx: StepContext) -> StepResult:
        diagnosis = ctx.outputs.get("diagnose", {})
        if not diagnosis.get("key_dead"):
            return StepResult(summary=_sentence(t(ctx.locale, "recipe.fix.woo.key_kept")), output={"replaced": False})
        answer = self.setup.await_key_approval(ctx, str(diagnosis["store_url"]), offer_signin=False)
        erased = ctx.forget_credentials(woo_setup.SERVICE, keep=str(answer["credential_id"]))
        return StepResult(
            summary=_sentence(t(ctx.locale, "recipe.fix.woo.key_replaced")),
            external_ids={"key_id": str(answer["key_id"])},
            output={"replaced": True, "erased": erased},
        )

    def test_connection(self, ctx: StepContext) -> StepResult:
        woo_setup.client_for(ctx, self._cred(ctx)).system_status()
        return StepResult(summary=t(ctx.locale, "recipe.woocommerce.tested"))

    def repair_webhooks(self, ctx: StepContext) -> StepResult:
        client = woo_setup.client_for(ctx, self._cred(ctx))
        by_topic = self._ours(ctx, client)
        missing, inactive = self._broken(by_topic)
        secret = self.setup.webhook_secret(ctx.owner_id)
        created: dict[str, str] = {}
        woken: dict[str, str] = {}  # webhook id -> the status it had
        for topic in inactive:
            hook = by_topic[topic][0]
            client.update_webhook(int(hook["id"]), status="active", secret=secret)
            woken[str(hook["id"])] = str(hook.get("status"))
        delivery = woo_setup.webhook_delivery_url(self.setup.public_url, ctx.owner_id)
        for topic in missing:
            hook = client.create_webhook(name=f"OmniOps {topic}", topic=topic, delivery_url=delivery, secret=secret)
            created[topic] = str(hook["id"])
        parts = []
        if created:
            parts.append(plural(ctx.locale, "recipe.fix.woo.hooks_recreated", len(created)))
        if woken:
            parts.append(plural(ctx.locale, "recipe.fix.woo.hooks_reactivated", len(woken)))
        return StepResult(
            summary=_sentence(*parts)
            or _sentence(t(ctx.locale, "recipe.fix.woo.hooks_ok", count=len(woo_setup.WEBHOOK_TOPICS))),
            external_ids=created,
            output={"created": len(created), "reactivated": woken},
        )

    def undo_webhooks(self, ctx: StepContext, result: StepResult) -> None:
        """Compensation: delete the webhooks this run created, put the ones it woke back to their old status."""
        client = woo_setup.client_for(ctx, self._cred(ctx))
        for hook_id in result.external_ids.values():
            try:
                client.delete_webhook(int(hook_id))
            except ProviderRejected:  # already gone
                continue
        for hook_id, status in dict(result.output.get("reactivated", {})).items():
            try:
                client.update_webhook(int(hook_id), status=str(status))
            except ProviderRejected:
                continue

    def resync(self, ctx: StepContext) -> StepResult:
        client = woo_setup.client_for(ctx, self._cred(ctx))
        products = int(self.setup.products_with(ctx, client).output.get("products", 0))
        orders = int(self.setup.orders_with(ctx, client).output.get("orders", 0))
        return StepResult(
            summary=_sentence(t(ctx.locale, "recipe.fix.woo.resynced", products=products, orders=orders)),
            output={"products": products, "orders": orders},
        )

    def recipe(self) -> Recipe:
        return Recipe(
            name=WOO_RECIPE,
            intent="fix_integration",
            service=woo_setup.SERVICE,
            declaration=WOO_DECLARATION,
            expected_seconds=60,
            manual_guide_url=woo_setup.GUIDE_URL,
            summarize=summarize_woo,
            steps=(
                Step(id="diagnose", title="Find what is broken", run=self.diagnose, retry=self.retry),
                Step(id=WOO_KEY_STEP, title="Replace a rejected API key", run=self.replace_key, retry=self.retry),
                Step(id="test_connection", title="Test the connection", run=self.test_connection, retry=self.retry),
                Step(
                    id="repair_webhooks",
                    title="Repair our webhooks",
                    run=self.repair_webhooks,
                    compensate=self.undo_webhooks,
                    retry=self.retry,
                ),
                Step(id="resync", title="Re-sync products and orders", run=self.resync, retry=self.retry),
            ),
        )


def summarize_woo(done: Mapping[str, StepResult], locale: str) -> str:
    """What was broken and what was done, or "Nothing was broken: …"."""
    key_dead = bool(done["diagnose"].output.get("key_dead")) if "diagnose" in done else False
    hooks = done["repair_webhooks"].output if "repair_webhooks" in done else {}
    created, woken = int(hooks.get("created", 0)), len(hooks.get("reactivated", {}))
    sync = done["resync"].output if "resync" in done else {}
    resynced = t(locale, "recipe.fix.woo.resynced", products=sync.get("products", 0), orders=sync.get("orders", 0))
    if not (key_dead or created or woken):
        return t(locale, "recipe.fix.woo.nothing_broken", count=len(woo_setup.WEBHOOK_TOPICS), resynced=resynced)
    broken = [
        t(locale, "recipe.fix.woo.key_dead") if key_dead else "",
        plural(locale, "recipe.fix.woo.hooks_missing", created) if created else "",
        plural(locale, "recipe.fix.woo.hooks_inactive", woken) if woken else "",
    ]
    did = [
        t(locale, "recipe.fix.woo.key_replaced") if key_dead else "",
        plural(locale, "recipe.fix.woo.hooks_recreated", created) if created else "",
        plural(locale, "recipe.fix.woo.hooks_reactivated", woken) if woken else "",
        resynced,
    ]
    return t(locale, "recipe.fix.woo.repaired", broken=_join(broken), done=_join(did))


# ------------------------------------------------------------------------------------------------ Stripe
class StripeFix:
    """Builds ``stripe.fix`` on top of the setup's Connect step, test payment and refund."""

    def __init__(self, *, setup: stripe_setup.StripeSetup, retry: RetryPolicy | None = None) -> None:
        self.setup = setup
        self.retry = retry or setup.retry

    def _client(self, ctx: StepContext) -> StripeClient:
        cred = ctx.credential(stripe_setup.SERVICE)
        if not cred or not cred.get("access_token"):
            raise ProviderRejected(t(ctx.locale, "recipe.fix.stripe.not_connected"), provider=stripe_setup.SERVICE)
        return StripeClient(
            ctx.http, secret_key=cred["access_token"], api_base=self.setup.api_base, account=cred.get("stripe_user_id")
        )

    def _endpoint(self, ctx: StepContext, client: StripeClient) -> dict[str, Any] | None:
        """Our webhook endpoint (an enabled one when there are several), or None."""
        ours = [e for e in client.list_webhook_endpoints() if e.get("url") == self.setup.webhook_url(ctx.owner_id)]
        ours.sort(key=lambda e: e.get("status") != "enabled")
        return ours[0] if ours else None

    def diagnose(self, ctx: StepContext) -> StepResult:
        client = self._client(ctx)
        try:
            client.retrieve_account()
        except (CredentialsExpired, ProviderRejected) as err:
            if not _dead(err):
                raise
            return StepResult(
                summary=_sentence(t(ctx.locale, "recipe.fix.stripe.token_dead")), output={"token_dead": True}
            )
        endpoint = self._endpoint(ctx, client)
        state = "missing" if endpoint is None else ("ok" if endpoint.get("status") == "enabled" else "disabled")
        summary = _sentence(t(ctx.locale, "recipe.fix.stripe.token_ok"), t(ctx.locale, ENDPOINT_STATE[state]))
        return StepResult(summary=summary, output={"token_dead": False, "endpoint": state})

    def reconnect(self, ctx: StepContext) -> StepResult:
        if not ctx.outputs.get("diagnose", {}).get("token_dead"):
            return StepResult(
                summary=_sentence(t(ctx.locale, "recipe.fix.stripe.token_kept")), output={"reconnected": False}
            )
        answer = self.setup.await_connection(ctx)
        erased = ctx.forget_credentials(stripe_setup.SERVICE, keep=str(answer["credential_id"]))
        return StepResult(
            summary=_sentence(t(ctx.locale, "recipe.fix.stripe.reconnected")),
            external_ids={"account": str(answer["stripe_user_id"])},
            output={"reconnected": True, "erased": erased},
        )

    def repair_webhook(self, ctx: StepContext) -> StepResult:
        client = self._client(ctx)
        endpoint = self._endpoint(ctx, client)
        if endpoint is not None and endpoint.get("status") == "enabled":
            return StepResult(
                summary=_sentence(t(ctx.locale, "recipe.fix.stripe.endpoint_ok")), output={"action": "none"}
            )
        if endpoint is not None:
            client.update_webhook_endpoint(
                str(endpoint["id"]), {"disabled": False}, idempotency_key=ctx.idempotency_key
            )
            return StepResult(
                summary=_sentence(t(ctx.locale, "recipe.fix.stripe.endpoint_enabled")), output={"action": "enabled"}
            )
        created = client.create_webhook_endpoint(
            url=self.setup.webhook_url(ctx.owner_id),
            events=stripe_setup.WEBHOOK_EVENTS,
            idempotency_key=ctx.idempotency_key,
            metadata={"omniops_run": ctx.run_id},
        )
        return StepResult(
            summary=_sentence(t(ctx.locale, "recipe.fix.stripe.endpoint_created")),
            external_ids={"webhook_endpoint": str(created["id"])},
            output={"action": "created"},
        )

    def undo_webhook(self, ctx: StepContext, result: StepResult) -> None:
        if "webhook_endpoint" in result.external_ids:
            self.setup.delete_webhook(ctx, result)

    def _reconnected(self, ctx: StepContext) -> bool:
        return bool(ctx.outputs.get(STRIPE_CONNECT_STEP, {}).get("reconnected"))

    def test_payment(self, ctx: StepContext) -> StepResult:
        if not self._reconnected(ctx):
            return StepResult(summary=_sentence(t(ctx.locale, "recipe.fix.stripe.no_test")), output={"skipped": True})
        return self.setup.test_payment(ctx)

    def refund(self, ctx: StepContext) -> StepResult:
        if ctx.outputs.get("test_payment", {}).get("skipped"):
            return StepResult(summary=_sentence(t(ctx.locale, "recipe.fix.stripe.no_refund")), output={"skipped": True})
        return self.setup.refund(ctx)

    def refund_if_charged(self, ctx: StepContext, result: StepResult) -> None:
        if "payment_intent" in result.external_ids:
            self.setup.refund_if_charged(ctx, result)

    def recipe(self) -> Recipe:
        return Recipe(
            name=STRIPE_RECIPE,
            intent="fix_integration",
            service=stripe_setup.SERVICE,
            declaration=STRIPE_DECLARATION,
            expected_seconds=45,
            manual_guide_url=stripe_setup.GUIDE_URL,
            summarize=summarize_stripe,
            steps=(
                Step(id="diagnose", title="Find what is broken", run=self.diagnose, retry=self.retry),
                Step(id=STRIPE_CONNECT_STEP, title="Reconnect Stripe if needed", run=self.reconnect, retry=self.retry),
                Step(
                    id="repair_webhook",
                    title="Repair our webhook endpoint",
                    run=self.repair_webhook,
                    compensate=self.undo_webhook,
                    retry=self.retry,
                ),
                Step(
                    id="test_payment",
                    title="Test payment after reconnecting",
                    run=self.test_payment,
                    compensate=self.refund_if_charged,
                    retry=self.retry,
                ),
                Step(id="refund", title="Refund the test payment", run=self.refund, retry=self.retry),
            ),
        )


def summarize_stripe(done: Mapping[str, StepResult], locale: str) -> str:
    """What was broken and what was done, or "Nothing was broken: …"."""
    dead = bool(done["diagnose"].output.get("token_dead")) if "diagnose" in done else False
    action = str(done["repair_webhook"].output.get("action", "none")) if "repair_webhook" in done else "none"
    if not dead and action == "none":
        return t(locale, "recipe.fix.stripe.nothing_broken")
    broken = [
        t(locale, "recipe.fix.stripe.token_dead") if dead else "",
        t(locale, "recipe.fix.stripe.endpoint_missing") if action == "created" else "",
        t(locale, "recipe.fix.stripe.endpoint_disabled") if action == "enabled" else "",
    ]
    charged = "test_payment" in done and not done["test_payment"].output.get("skipped")
    did = [
        t(locale, "recipe.fix.stripe.reconnected") if dead else "",
        t(locale, "recipe.fix.stripe.endpoint_created") if action == "created" else "",
        t(locale, "recipe.fix.stripe.endpoint_enabled") if action == "enabled" else "",
        t(locale, "recipe.fix.stripe.tested") if charged else "",
    ]
    return t(locale, "recipe.fix.stripe.repaired", broken=_join(broken), done=_join(did))
