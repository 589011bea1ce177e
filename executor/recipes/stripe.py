"""Stripe auto-setup: "Connect Stripe" → "Stripe connected. Test payment successful."

Steps:

1. ``authorize``        the owner approves on Stripe Connect (``state`` bound to this run, exact redirect URI);
                        our OAuth callback exchanges the code, stores the token in the vault and resumes the run
2. ``register_webhook`` a webhook endpoint on the connected account (``Idempotency-Key = run_id:step_id``)
3. ``test_payment``     a PaymentIntent with ``pm_card_visa``, confirmed, must be ``succeeded``
4. ``refund``           refunds that test payment
A declined test card or a revoked authorization fails the run with Stripe's own reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import CredentialsExpired, ProviderRejected
from core.i18n import t
from core.intents import ConsentTier
from core.ports import ConsentDeclaration
from executor.nonces import RunTokens
from executor.providers.stripe import StripeClient, StripeConnect
from executor.recipe import Recipe, RetryPolicy, Step, StepContext, StepResult

SERVICE = "stripe"
GUIDE_URL = "https://omniops.dev/guides/stripe"
OAUTH_PURPOSE = "stripe-oauth"
APPROVAL_TIMEOUT_SECONDS = 30 * 60
TEST_AMOUNT = 100  # $1.00, refunded straight away
WEBHOOK_EVENTS = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "account.application.deauthorized",
]

DECLARATION = ConsentDeclaration(
    action="Connect your Stripe account to OmniOps, register a webhook, and make a $1.00 test payment that is "
    "refunded at once",
    service=SERVICE,
    permissions=("Stripe Connect read_write", "create webhook endpoints", "create and refund test payments"),
    data_access=("payments", "refunds", "account profile"),
    duration="until you revoke it",
    tier=ConsentTier.VERIFIED,
)


def webhook_delivery_url(public_url: str, owner_id: str) -> str:
    """Where Stripe delivers this owner's events (our endpoint on their connected account)."""
    return f"{public_url.rstrip('/')}/callbacks/stripe/webhook/{owner_id}"


class StripeSetup:
    """Builds the ``stripe.setup`` recipe; the platform's Connect credentials are injected."""

    def __init__(
        self,
        *,
        public_url: str,
        tokens: RunTokens,
        connect: StripeConnect,
        api_base: str,
        payment_method: str = "pm_card_visa",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.tokens = tokens
        self.connect = connect
        self.api_base = api_base
        self.payment_method = payment_method
        self.retry = retry or RetryPolicy()

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/callbacks/stripe/oauth"

    def _client(self, ctx: StepContext) -> StripeClient:
        cred = ctx.credential(SERVICE)
        if not cred or not cred.get("access_token"):
            raise CredentialsExpired("The Stripe connection is no longer stored.", provider=SERVICE)
        return StripeClient(
            ctx.http, secret_key=cred["access_token"], api_base=self.api_base, account=cred.get("stripe_user_id")
        )

    # -------------------------------------------------------------------------------------------- steps
    def authorize(self, ctx: StepContext) -> StepResult:
        existing = ctx.credential(SERVICE)
        if existing and existing.get("run_id") == ctx.run_id:
            return StepResult(
                summary=t(ctx.locale, "recipe.stripe.connected"), external_ids={"account": existing["stripe_user_id"]}
            )
        answer = self.await_connection(ctx)
        return StepResult(
            summary=t(ctx.locale, "recipe.stripe.connected"), external_ids={"account": str(answer["stripe_user_id"])}
        )

    def await_connection(self, ctx: StepContext) -> dict[str, Any]:
        """The owner's answer on Stripe Connect (the run waits for it): ``{stripe_user_id, credential_id}`` once
        our OAuth callback has vaulted the token; a refusal raises ``ProviderRejected`` with Stripe's reason."""
        state = self.tokens.issue(ctx.run_id, OAUTH_PURPOSE)
        url = self.connect.authorize_url(redirect_uri=self.redirect_uri, state=state)
        answer = ctx.wait_for_owner(
            t(ctx.locale, "recipe.stripe.approve", url=url), timeout_seconds=APPROVAL_TIMEOUT_SECONDS
        )
        if answer.get("denied"):
            reason = answer.get("reason") or t(ctx.locale, "recipe.stripe.declined")  # Stripe's own words when given
            raise ProviderRejected(str(reason), provider=SERVICE)
        return answer

    def webhook_url(self, owner_id: str) -> str:
        """Where Stripe delivers this owner's events."""
        return webhook_delivery_url(self.public_url, owner_id)

    def register_webhook(self, ctx: StepContext) -> StepResult:
        endpoint = self._client(ctx).create_webhook_endpoint(
            url=self.webhook_url(ctx.owner_id),
            events=WEBHOOK_EVENTS,
            idempotency_key=ctx.idempotency_key,
            metadata={"omniops_run": ctx.run_id},
        )
        return StepResult(
            summary=t(ctx.locale, "recipe.stripe.webhook_registered"), external_ids={"webhook_endpoint": endpoint["id"]}
        )

    def delete_webhook(self, ctx: StepContext, result: StepResult) -> None:
        try:
            self._client(ctx).delete_webhook_endpoint(result.external_ids["webhook_endpoint"])
        except (ProviderRejected, CredentialsExpired):
            return  # gone already, or the account disconnected us: nothing left to undo

    def test_payment(self, ctx: StepContext) -> StepResult:
        intent = self._client(ctx).create_test_payment(
            amount=TEST_AMOUNT,
            currency="usd",
            payment_method=self.payment_method,
            idempotency_key=ctx.idempotency_key,
            metadata={"omniops_run": ctx.run_id},
        )
        if intent.get("status") != "succeeded":
            status = repr(intent.get("status"))
            raise ProviderRejected(t(ctx.locale, "recipe.stripe.payment_ended", status=status), provider=SERVICE)
        return StepResult(
            summary=t(ctx.locale, "recipe.stripe.payment_ok"),
            external_ids={"payment_intent": intent["id"]},
            output={"payment_intent": intent["id"]},
        )

    def refund(self, ctx: StepContext) -> StepResult:
        payment_intent = ctx.outputs["test_payment"]["payment_intent"]
        refund = self._client(ctx).refund(payment_intent=payment_intent, idempotency_key=ctx.idempotency_key)
        return StepResult(summary=t(ctx.locale, "recipe.stripe.refunded"), external_ids={"refund": refund["id"]})

    def refund_if_charged(self, ctx: StepContext, result: StepResult) -> None:
        """Compensation of the test payment: refund it (idempotent under the refund step's key)."""
        self._client(ctx).refund(
            payment_intent=result.external_ids["payment_intent"], idempotency_key=f"{ctx.run_id}:refund"
        )

    # -------------------------------------------------------------------------------------------- recipe
    def recipe(self) -> Recipe:
        return Recipe(
            name="stripe.setup",
            intent="setup_integration",
            service=SERVICE,
            declaration=DECLARATION,
            expected_seconds=90,
            manual_guide_url=GUIDE_URL,
            summarize=summarize,
            steps=(
                Step(id="authorize", title="Connect Stripe", run=self.authorize, retry=self.retry),
                Step(
                    id="register_webhook",
                    title="Register the webhook",
                    run=self.register_webhook,
                    compensate=self.delete_webhook,
                    retry=self.retry,
                ),
                Step(
                    id="test_payment",
                    title="Make a test payment",
                    run=self.test_payment,
                    compensate=self.refund_if_charged,
                    retry=self.retry,
                ),
                Step(id="refund", title="Refund the test payment", run=self.refund, retry=self.retry),
            ),
        )


def summarize(done: Mapping[str, StepResult], locale: str) -> str:
    return t(locale, "recipe.stripe.done")
