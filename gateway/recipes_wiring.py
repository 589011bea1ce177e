"""Wiring for issue 9's remaining parts: ``revoke_access`` recipes and the wp-admin browser key path.

``install_revoke_and_browser(c)`` is meant to be called at the end of ``gateway.bootstrap._wire`` (the lead owns
bootstrap); it registers ``woocommerce.revoke`` (and ``stripe.revoke`` when Stripe Connect is configured), and
shares one in-memory :class:`~executor.browser.LoginHandoff` between the callback sign-in page and the recipes
("sign in for me": the owner's wp-admin login used once, never stored). Tests call it on a built container.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from executor.browser import LoginHandoff, WpAdminBrowser
from executor.providers.stripe import API_BASE
from executor.recipes.revoke import StripeRevoke, WooCommerceRevoke
from executor.recipes.woocommerce import WooCommerceSetup


def runs_dir(var_dir: Path) -> Path:
    """Where per-run support artifacts (browser screenshots) live: ``<var_dir>/runs/<run_id>/``."""
    return var_dir / "runs"


def install_revoke_and_browser(c: Any, *, browser: WpAdminBrowser | None = None) -> LoginHandoff:
    """Register the revoke recipes and enable the browser key path on container ``c``; returns the handoff."""
    s = c.settings
    recipes = c.executor.recipes
    existing = getattr(c.callbacks, "wp_logins", None)
    if recipes.get("woocommerce.revoke") is not None and isinstance(existing, LoginHandoff):
        return existing  # already installed (bootstrap wires it; a test's configure hook may call it again)
    handoff = LoginHandoff()
    browser = browser or WpAdminBrowser(artifacts_dir=runs_dir(Path(s.var_dir)))
    setup = recipes.get("woocommerce.setup")
    if setup is not None:
        builder = setup.step("obtain_keys").run.__self__
        if isinstance(builder, WooCommerceSetup):
            builder.handoff = handoff
            builder.browser = browser
    recipes.add(
        WooCommerceRevoke(public_url=s.public_url, catalog=c.catalog, handoff=handoff, browser=browser).recipe()
    )
    connect = getattr(c.callbacks, "stripe_connect", None)
    if connect is not None:
        recipes.add(
            StripeRevoke(public_url=s.public_url, connect=connect, api_base=s.stripe_base_url or API_BASE).recipe()
        )
    c.callbacks.wp_logins = handoff
    c.wp_logins = handoff
    return handoff
