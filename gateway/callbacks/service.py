"""What each provider callback does, without Flask: verify, consume the run-bound token once, act, resume.

* WooCommerce wc-auth POSTs the new key to us; anything but a 200 makes WooCommerce delete the key, so every
  refusal here is an exception the view turns into a 4xx.
* WooCommerce webhooks are verified with base64 HMAC-SHA256 of the raw body under the owner's webhook secret,
  then applied to the synced catalog (upserts, so duplicate deliveries change nothing).
* Stripe Connect redirects the owner's browser back with ``code`` and ``state``; we exchange the code here so
  the token goes straight into the vault and never into the journal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.errors import Conflict, Forbidden, MalformedRequest, NotFound, ProviderError
from core.ports import Clock, Journal, RunStatus
from executor.browser import LoginHandoff, WpAdminLogin
from executor.catalog import Catalog
from executor.nonces import RunTokens
from executor.providers.stripe import StripeConnect
from executor.recipes import fix as fix_recipes
from executor.recipes import stripe as stripe_recipe
from executor.recipes import woocommerce as woo_recipe

log = logging.getLogger("omniops.callbacks")

metadata = sa.MetaData()
consumed_tokens = sa.Table(
    "consumed_callback_tokens",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=False),
)
SCHEMA = ("callbacks", 1, metadata)

StoreCredential = Callable[[str, str, str, Mapping[str, str]], str]  # owner, service, label, secret -> id
Resume = Callable[[str, str, Mapping[str, Any]], bool]
StepOutput = Callable[[str, str], Mapping[str, Any]]  # run id, step id -> that step's journaled output

# The runs that wait for each callback, and the step each one waits in (setup, and the repair of a dead connection).
WC_AUTH_STEPS = {"woocommerce.setup": "obtain_keys", fix_recipes.WOO_RECIPE: fix_recipes.WOO_KEY_STEP}
STRIPE_OAUTH_STEPS = {"stripe.setup": "authorize", fix_recipes.STRIPE_RECIPE: fix_recipes.STRIPE_CONNECT_STEP}


def sign_webhook(secret: str, body: bytes) -> str:
    """WooCommerce's ``X-WC-Webhook-Signature``: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass(kw_only=True)
class CallbackService:
    engine: Engine
    clock: Clock
    tokens: RunTokens
    journal: Journal
    resume: Resume
    store_credential: StoreCredential
    catalog: Catalog
    webhook_secret: Callable[[str], str]
    stripe_connect: StripeConnect | None = None
    wp_logins: LoginHandoff | None = None  # key path (b): "sign in for me" (see executor.browser)
    step_output: StepOutput | None = None  # where a repair run keeps the store address it diagnosed

    # -------------------------------------------------------------------------------------------- helpers
    def _consume(self, token: str, purpose: str, *, recipes: Mapping[str, str] | str) -> tuple[str, str]:
        """Check a run-bound token, use it up, and return (run_id, owner_id) of the waiting run (of one of
        ``recipes``)."""
        run_id = self.tokens.run_id(token, purpose)
        run = self.journal.get_run(run_id)
        if run is None or run.recipe not in ((recipes,) if isinstance(recipes, str) else recipes):
            raise NotFound("This approval does not belong to a setup in progress.")
        if run.status is not RunStatus.WAITING_FOR_OWNER:
            raise Conflict("This setup is not waiting for an approval any more.")
        digest = hashlib.sha256(token.encode()).hexdigest()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    consumed_tokens.insert().values(
                        digest=digest, purpose=purpose, run_id=run_id, consumed_at=self.clock.now()
                    )
                )
        except IntegrityError as err:
            raise Conflict("This approval was already used.") from err
        return run_id, run.owner_id

    # -------------------------------------------------------------------------------------------- WooCommerce
    def woocommerce_keys(self, payload: Any) -> str:
        """Accept the key WooCommerce delivers for a waiting run; returns the run id."""
        if not isinstance(payload, dict):
            raise MalformedRequest("expected a JSON object")
        fields = ("key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions")
        if any(not isinstance(payload.get(f), str | int) for f in fields):
            raise MalformedRequest("missing WooCommerce key fields")
        if payload["key_permissions"] != "read_write":
            raise Forbidden("OmniOps needs a Read/Write key.")
        if not str(payload["consumer_key"]).startswith("ck_") or not str(payload["consumer_secret"]).startswith("cs_"):
            raise MalformedRequest("not a WooCommerce key")
        run_id, owner_id = self._consume(str(payload["user_id"]), woo_recipe.WC_AUTH_PURPOSE, recipes=WC_AUTH_STEPS)
        run = self.journal.get_run(run_id)
        if run is None:
            raise NotFound("This approval does not belong to a setup in progress.")
        store_url = self._store_url(run.id, run.params)
        secret = woo_recipe.key_secret_fields(payload, store_url=store_url, run_id=run_id)
        cred_id = self.store_credential(owner_id, woo_recipe.SERVICE, f"WooCommerce {store_url}", secret)
        step = WC_AUTH_STEPS[run.recipe]
        self.resume(run_id, step, {"key_id": str(payload["key_id"]), "credential_id": cred_id})
        log.info("woocommerce key received", extra={"run_id": run_id, "credential_id": cred_id})
        return run_id

    def _store_url(self, run_id: str, params: Mapping[str, Any]) -> str:
        """The store a waiting run asked a key for: its ``store_url`` param (setup), else the address its
        ``diagnose`` step read from the stored credential (repair)."""
        if params.get("store_url"):
            return str(params["store_url"])
        output = self.step_output(run_id, "diagnose") if self.step_output is not None else {}
        if not output.get("store_url"):
            raise Conflict("This repair does not know its store address.")
        return str(output["store_url"])

    def woocommerce_signin_check(self, token: str) -> str:
        """The store a genuine, unused "sign in for me" link is for (the page shows it); raises otherwise."""
        if self.wp_logins is None:
            raise NotFound("Signing in for you is not enabled on this gateway.")
        run_id = self.tokens.run_id(token, woo_recipe.SIGNIN_PURPOSE)
        run = self.journal.get_run(run_id)
        if run is None or run.recipe != "woocommerce.setup":
            raise NotFound("This link does not belong to a setup in progress.")
        if run.status is not RunStatus.WAITING_FOR_OWNER:
            raise Conflict("This setup is not waiting for you any more.")
        return str(run.params.get("store_url", ""))

    def woocommerce_signin(self, token: str, username: str, password: str) -> str:
        """Hand the owner's wp-admin login to the waiting run, in memory and once; returns the run id.

        The login goes into the process-local handoff only; the run is resumed with ``{"signin": true}``, so
        neither the journal, the queue nor any event carries it."""
        if self.wp_logins is None:
            raise NotFound("Signing in for you is not enabled on this gateway.")
        if not username or not password:
            raise MalformedRequest("Please enter your WordPress username and password.")
        run_id, _owner_id = self._consume(token, woo_recipe.SIGNIN_PURPOSE, recipes="woocommerce.setup")
        self.wp_logins.put(run_id, WpAdminLogin(username=username, password=password))
        if not self.resume(run_id, "obtain_keys", {"signin": True}):
            self.wp_logins.take(run_id)  # nobody will use it: drop it now
            raise Conflict("This setup is not waiting for you any more.")
        log.info("wp-admin sign-in handed to the run", extra={"run_id": run_id})
        return run_id

    def woocommerce_webhook(self, owner_id: str, headers: Mapping[str, str], raw_body: bytes) -> str:
        """Verify and apply one webhook delivery; returns the topic handled."""
        signature = headers.get("X-WC-Webhook-Signature", "")
        expected = sign_webhook(self.webhook_secret(owner_id), raw_body)
        if not signature or not hmac.compare_digest(signature, expected):
            raise Forbidden("Webhook signature does not match.")
        topic = headers.get("X-WC-Webhook-Topic", "")
        if not topic or raw_body.startswith(b"webhook_id="):  # the ping on creation (form-encoded webhook_id)
            return "ping"
        try:
            body = json.loads(raw_body)
        except ValueError as err:
            raise MalformedRequest("webhook body is not JSON") from err
        if not isinstance(body, dict) or "id" not in body:
            raise MalformedRequest("webhook body has no id")
        if topic in ("product.created", "product.updated", "product.restored"):
            self.catalog.upsert_products(owner_id, [body])
        elif topic == "product.deleted":
            self.catalog.delete_product(owner_id, int(body["id"]))
        elif topic in ("order.created", "order.updated"):
            self.catalog.upsert_orders(owner_id, [body])
        return topic

    # -------------------------------------------------------------------------------------------- Stripe
    def stripe_oauth(self, args: Mapping[str, str]) -> str:
        """Finish Stripe Connect for a waiting run (approve or deny); returns the run id."""
        state = args.get("state") or ""
        if not state:
            raise MalformedRequest("missing state")
        run_id, owner_id = self._consume(state, stripe_recipe.OAUTH_PURPOSE, recipes=STRIPE_OAUTH_STEPS)
        run = self.journal.get_run(run_id)
        step = STRIPE_OAUTH_STEPS[run.recipe] if run is not None else "authorize"
        if args.get("error") or not args.get("code"):
            reason = args.get("error_description") or "You declined the Stripe connection."
            self.resume(run_id, step, {"denied": True, "reason": reason[:200]})
            return run_id
        if self.stripe_connect is None:
            raise NotFound("Stripe Connect is not configured on this gateway.")
        try:
            token = self.stripe_connect.exchange_code(args["code"])
        except ProviderError as err:
            self.resume(run_id, step, {"denied": True, "reason": err.message[:200]})
            return run_id
        secret = {
            "access_token": str(token["access_token"]),
            "refresh_token": str(token.get("refresh_token") or ""),
            "stripe_user_id": str(token["stripe_user_id"]),
            "publishable_key": str(token.get("stripe_publishable_key") or ""),
            "run_id": run_id,
        }
        cred_id = self.store_credential(owner_id, stripe_recipe.SERVICE, f"Stripe {token['stripe_user_id']}", secret)
        self.resume(run_id, step, {"stripe_user_id": secret["stripe_user_id"], "credential_id": cred_id})
        return run_id
