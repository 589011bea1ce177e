"""Reply text comes from message catalogs in the request's locale."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.i18n import available, t

CORE = Path(__file__).resolve().parents[3] / "core"


def _catalog(locale: str) -> dict[str, str]:
    return json.loads((CORE / "locales" / f"{locale}.json").read_text())["messages"]  # type: ignore[no-any-return]


def test_every_catalog_has_every_key_with_the_same_placeholders() -> None:
    english, german = _catalog("en-US"), _catalog("de-DE")
    assert set(english) == set(german)
    for key in english:
        assert set(re.findall(r"{(\w+)}", english[key])) == set(re.findall(r"{(\w+)}", german[key])), key


def test_every_key_the_handlers_use_exists() -> None:
    source = (CORE / "handlers.py").read_text() + (CORE / "messagebus.py").read_text()
    used = set(re.findall(r"""\bt\([^,]+,\s*["']([\w.]+)["']""", source))
    used |= set(re.findall(r'"((?:suggest|report)\.\w+|\w+_reprompt|what_next)"', source))
    assert used and used <= set(_catalog("en-US"))


@pytest.mark.parametrize(("locale", "served"), [("de-DE", "de-DE"), ("de-AT", "de-DE"), ("en-GB", "en-US"),
                                                ("fr-FR", "en-US")])
def test_locale_fallback(locale: str, served: str) -> None:
    assert available(locale) == served


def test_german_reply_is_german_and_formatted() -> None:
    assert t("de-DE", "setup_started", service="WooCommerce").startswith("Ich richte WooCommerce jetzt ein")
    assert t("en-US", "setup_started", service="Stripe").startswith("I'm setting up Stripe now")
    with pytest.raises(KeyError):
        t("de-DE", "no.such.key")


# ------------------------------------------------------------------------------------------------ executor, notifier
ROOT = CORE.parent
OWNER_FACING = [*sorted((ROOT / "executor").rglob("*.py")), ROOT / "gateway" / "notifier.py"]
KEY_LITERAL = re.compile(r"(?:run|recipe|sms)\.[a-z_]+(?:\.[a-z_]+)+")


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", text))


def _t_calls() -> list[tuple[str, str, set[str] | None]]:
    """Every ``t(locale, "key", name=…)`` in the executor and the notifier: (where, key, keyword names or None
    when the values are passed as ``**mapping``)."""
    calls = []
    for path in OWNER_FACING:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t"):
                continue
            key = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue  # a computed key: covered by the literal scan below
            names = {k.arg for k in node.keywords if k.arg is not None}
            unpacked = any(k.arg is None for k in node.keywords)
            calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", key.value, None if unpacked else names))
    return calls


def test_every_key_the_executor_and_notifier_use_exists_in_both_catalogs_with_the_values_passed() -> None:
    english, german = _catalog("en-US"), _catalog("de-DE")
    calls = _t_calls()
    assert len(calls) > 50
    for where, key, names in calls:
        assert key in english and key in german, f"{where}: {key}"
        if names is not None:
            assert _placeholders(english[key]) == names == _placeholders(german[key]), f"{where}: {key}"


def test_every_key_literal_in_the_executor_and_notifier_names_a_message() -> None:
    """Keys chosen at run time (the notifier's wrapper per event kind, ``.one``/``.other`` counts) exist too."""
    english, german = _catalog("en-US"), _catalog("de-DE")
    literals = {
        (path.relative_to(ROOT), m.group(1))
        for path in OWNER_FACING
        for m in re.finditer(r'"(' + KEY_LITERAL.pattern + r')"', path.read_text())
    }
    assert any(key.startswith("sms.run.") for _, key in literals)
    for where, key in literals:
        variants = [key] if key in english else [f"{key}.one", f"{key}.other"]
        for variant in variants:
            assert variant in english and variant in german, f"{where}: {key}"


def _real_recipes() -> list[Any]:
    """Every recipe the gateway registers, built with inert collaborators (nothing here does I/O)."""
    import httpx
    import sqlalchemy as sa

    from executor.catalog import Catalog, SqlReports
    from executor.journal import SystemClock, TokenIds
    from executor.nonces import RunTokens
    from executor.providers.stripe import StripeConnect
    from executor.recipes.fix import StripeFix, WooCommerceFix
    from executor.recipes.privacy import PrivacyDelete, PrivacyExport
    from executor.recipes.revoke import StripeRevoke, WooCommerceRevoke
    from executor.recipes.stripe import StripeSetup
    from executor.recipes.woocommerce import WooCommerceSetup
    from executor.recipes.workflows import WorkflowRecipes
    from executor.schedules import SqlSchedules

    engine, clock, url = sa.create_engine("sqlite://"), SystemClock(), "https://gw.example"
    tokens, catalog = RunTokens(b"k" * 32), Catalog(engine, clock=clock)
    connect = StripeConnect(httpx.Client(), client_id="ca_x", platform_secret_key="sk_x")
    woo_revoke = WooCommerceRevoke(public_url=url, catalog=catalog)
    stripe_revoke = StripeRevoke(public_url=url, connect=connect, api_base=url)
    woo_setup = WooCommerceSetup(public_url=url, tokens=tokens, catalog=catalog, clock=clock, webhook_secret=str)
    stripe_setup = StripeSetup(public_url=url, tokens=tokens, connect=connect, api_base=url)
    return [
        woo_setup.recipe(),
        stripe_setup.recipe(),
        WooCommerceFix(setup=woo_setup).recipe(),
        StripeFix(setup=stripe_setup).recipe(),
        woo_revoke.recipe(),
        stripe_revoke.recipe(),
        PrivacyExport(public_url=url, exports_dir=Path("/nonexistent"), export=dict).recipe(),
        PrivacyDelete(woocommerce=woo_revoke, stripe=stripe_revoke, erase=dict).recipe(),
        *WorkflowRecipes(
            schedules=SqlSchedules(engine, clock=clock, ids=TokenIds()),
            reports=SqlReports(engine, clock=clock),
            owners=None,  # type: ignore[arg-type]
            grants=None,  # type: ignore[arg-type]
            audit=None,  # type: ignore[arg-type]
            clock=clock,
        ).recipes(),
    ]


def test_every_step_of_every_recipe_has_its_title_in_both_catalogs_and_english_is_the_title() -> None:
    english, german = _catalog("en-US"), _catalog("de-DE")
    recipes = _real_recipes()
    keys = set()
    for recipe in recipes:
        assert recipe.summarize is not None, recipe.name
        for step in recipe.steps:
            key = f"recipe.{recipe.name}.step.{step.id}"
            keys.add(key)
            assert english.get(key) == step.title and key in german, key
            assert recipe.step_title(step, "de-DE") == german[key]
            assert recipe.step_title(step, "de-AT") == german[key]
            assert recipe.step_title(step, "en-US") == step.title
    stale = {k for k in english if re.fullmatch(r"recipe\.[\w.]+\.step\.\w+", k)} - keys
    assert stale == set()
