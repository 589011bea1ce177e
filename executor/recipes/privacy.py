"""The owner's data rights: "export my data" and "delete my data".

``privacy.export`` writes a JSON archive of everything stored about the owner (credentials as metadata only,
consents, runs, audit rows, synced catalog) to the exports folder, readable only by the owner after signing in.
``privacy.delete`` first removes what we created upstream (WooCommerce webhooks and key, Stripe webhook and
authorization — the revoke recipes' own steps), then erases: the owner's keyset is destroyed (crypto-shred, so
every credential and encrypted personal audit field becomes unreadable), credentials, consents, conversations,
voice links and the synced catalog are deleted; the chained audit skeleton stays and still verifies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from core.i18n import t
from core.intents import ConsentTier
from core.ports import ConsentDeclaration
from executor.recipe import Recipe, RetryPolicy, Step, StepContext, StepResult
from executor.recipes.revoke import StripeRevoke, WooCommerceRevoke

GUIDE_URL = "https://omniops.dev/guides/privacy"

EXPORT_DECLARATION = ConsentDeclaration(
    action="Collect a copy of everything OmniOps stores about you into a download only you can open",
    service="omniops",
    permissions=("read your OmniOps records",),
    data_access=(
        "account and plan",
        "connections (no secret values)",
        "consents",
        "jobs",
        "audit log",
        "synced store catalog",
    ),
    duration="one-time",
    tier=ConsentTier.VERIFIED,
)
DELETE_DECLARATION = ConsentDeclaration(
    action="Disconnect every service (removing our webhooks and keys upstream) and permanently erase your OmniOps data",
    service="omniops",
    permissions=("revoke OmniOps keys and webhooks at your providers", "erase your OmniOps records"),
    data_access=("all your OmniOps data",),
    duration="one-time, cannot be undone",
    tier=ConsentTier.VERIFIED,
)


def export_path(exports_dir: Path, owner_id: str, run_id: str) -> Path:
    """Where the archive of export run ``run_id`` lives."""
    return exports_dir / owner_id / f"{run_id}.json"


class PrivacyExport:
    """Builds ``privacy.export``; ``export(owner_id)`` returns the JSON-able archive."""

    def __init__(self, *, public_url: str, exports_dir: Path, export: Callable[[str], Mapping[str, Any]]) -> None:
        self.public_url = public_url.rstrip("/")
        self.exports_dir = exports_dir
        self.export = export

    def build_archive(self, ctx: StepContext) -> StepResult:
        archive = dict(self.export(ctx.owner_id))
        archive["export_run_id"] = ctx.run_id
        data = json.dumps(archive, indent=1, sort_keys=True, default=str).encode()
        path = export_path(self.exports_dir, ctx.owner_id, ctx.run_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # a crash never leaves half an archive under the final name
        return StepResult(summary=t(ctx.locale, "recipe.privacy.archive_ready"), output={"bytes": len(data)})

    def recipe(self) -> Recipe:
        def summarize(done: Mapping[str, StepResult], locale: str) -> str:
            return t(locale, "recipe.privacy.export_ready", url=f"{self.public_url}/account/exports")

        return Recipe(
            name="privacy.export",
            intent="export_data",
            declaration=EXPORT_DECLARATION,
            expected_seconds=10,
            manual_guide_url=GUIDE_URL,
            summarize=summarize,
            steps=(Step(id="build_archive", title="Collect your data", run=self.build_archive),),
        )


class PrivacyDelete:
    """Builds ``privacy.delete`` from the revoke recipes' steps plus the erasure; ``erase(owner_id)`` erases."""

    def __init__(
        self,
        *,
        woocommerce: WooCommerceRevoke,
        stripe: StripeRevoke | None,
        erase: Callable[[str], Mapping[str, Any]],
        retry: RetryPolicy | None = None,
    ) -> None:
        self.woocommerce = woocommerce
        self.stripe = stripe
        self.erase = erase
        self.retry = retry or RetryPolicy()

    def erase_all(self, ctx: StepContext) -> StepResult:
        report = dict(self.erase(ctx.owner_id))
        return StepResult(
            summary=t(ctx.locale, "recipe.privacy.erased"),
            output={k: v for k, v in report.items() if isinstance(v, int | str | bool)},
        )

    def recipe(self) -> Recipe:
        steps = [
            Step(
                id="woo_webhooks",
                title="Remove our WooCommerce webhooks",
                run=self.woocommerce.delete_webhooks,
                retry=self.retry,
            ),
            Step(id="woo_key", title="Revoke the WooCommerce key", run=self.woocommerce.revoke_key, retry=self.retry),
        ]
        if self.stripe is not None:
            steps += [
                Step(
                    id="stripe_webhooks",
                    title="Remove our Stripe webhook",
                    run=self.stripe.delete_webhooks,
                    retry=self.retry,
                ),
                Step(id="stripe_deauthorize", title="Disconnect Stripe", run=self.stripe.deauthorize, retry=self.retry),
            ]
        steps.append(Step(id="erase", title="Erase your data", run=self.erase_all, retry=self.retry))

        def summarize(done: Mapping[str, StepResult], locale: str) -> str:
            manual = done.get("woo_key")  # the key the owner still has to revoke by hand
            extra = f" {manual.summary}." if manual is not None and manual.output.get("manual") else ""
            return t(locale, "recipe.privacy.deleted") + extra

        return Recipe(
            name="privacy.delete",
            intent="delete_data",
            declaration=DELETE_DECLARATION,
            expected_seconds=30,
            manual_guide_url=GUIDE_URL,
            summarize=summarize,
            steps=tuple(steps),
        )
