"""``fix_integration`` on the real container (real recipes, runner, journal, Tink vault) against the sandbox over
real HTTP: a healthy connection is left alone, a webhook deleted upstream comes back while nobody else's webhook
is touched, a missing connection fails with a clear message, and a 500 during the diagnosis is retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.commands import AuthLevel, Channel, Command, Principal, Reply, ReplyRoute
from executor.recipes.woocommerce import WEBHOOK_TOPICS, webhook_delivery_url
from gateway.bootstrap import Container, build_container
from gateway.settings import Settings
from sandbox.server import Sandbox, start_sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = start_sandbox(host="127.0.0.1", port=0, seed=0)
    yield sb
    sb.stop()


@pytest.fixture
def container(sandbox: Sandbox, tmp_path: Path) -> Iterator[Container]:
    info = sandbox.describe()
    c = build_container(
        Settings(
            var_dir=tmp_path / "var",
            env="test",
            stripe_base_url=info["stripe"],
            stripe_client_id=info["stripe_credentials"]["client_id"],
            stripe_secret_key=info["stripe_credentials"]["secret_key"],
        )
    )
    yield c
    c.close()


@pytest.fixture
def owner_id(container: Container) -> str:
    return str(container.owners.create_owner(name="Mugs & Co", plan="ai_assisted").id)


def demo_store(sandbox: Sandbox) -> dict[str, Any]:
    return next(s for s in sandbox.describe()["stores"] if s["slug"] == "demo")


def connect_woocommerce(c: Container, sandbox: Sandbox, owner_id: str) -> str:
    """What a finished ``woocommerce.setup`` leaves behind: the key in the vault and our four active webhooks."""
    store = demo_store(sandbox)
    key = store["rest_key"]
    c.vault_services.vault.put(
        owner_id,
        "woocommerce",
        f"WooCommerce {store['url']}",
        {
            "store_url": store["url"],
            "consumer_key": key["consumer_key"],
            "consumer_secret": key["consumer_secret"],
            "key_id": "1",
            "key_permissions": "read_write",
            "run_id": "run_setup",
        },
    )
    delivery = webhook_delivery_url(c.settings.public_url, owner_id)
    for topic in WEBHOOK_TOPICS:
        sandbox.woo.store("demo").create_webhook(
            name=f"OmniOps {topic}", topic=topic, delivery_url=delivery, secret="s", status="active"
        )
    return delivery


def say(c: Container, owner_id: str, intent: str, params: dict[str, Any] | None = None) -> Reply:
    return c.bus.handle(
        Command(
            channel=Channel.SIRI,
            principal=Principal(owner_id=owner_id, auth=AuthLevel.TOKEN),
            intent=intent,
            params=params or {},
            reply_route=ReplyRoute(channel=Channel.SIRI),
            request_id="req-fix",
            received_at=datetime.now(UTC),
            session_id="siri-fix",
            locale="en-US",
        )
    )


def fix(c: Container, owner_id: str, service: str) -> Any:
    """ "fix <service>", "yes", and the run worked to its end."""
    question = say(c, owner_id, "fix_integration", {"service": service})
    assert question.response_type == "question", question
    started = say(c, owner_id, "confirm")
    assert started.response_type == "action_started" and started.run_id, started
    while c.executor.queue.work_once():
        pass
    run = c.journal.get_run(started.run_id)
    assert run is not None and run.status in ("succeeded", "failed", "compensated"), run
    return run


def ours(sandbox: Sandbox, delivery: str) -> list[Any]:
    return [h for h in sandbox.woo.store("demo").webhooks.values() if h.delivery_url == delivery]


def test_nothing_broken_changes_nothing_and_says_so(container: Container, sandbox: Sandbox, owner_id: str) -> None:
    delivery = connect_woocommerce(container, sandbox, owner_id)
    before = sandbox.counters()

    run = fix(container, owner_id, "woocommerce")

    assert run.status == "succeeded", run.error
    assert run.recipe == "woocommerce.fix"
    assert run.summary.startswith(
        "Nothing was broken: the WooCommerce API key works and all 4 OmniOps webhooks are active. "
        "To be sure, I re-synced 47 products and "
    )
    after = sandbox.counters()
    for counter in ("woocommerce.keys_created", "woocommerce.webhooks_registered", "woocommerce.webhooks_deleted"):
        assert after.get(counter, 0) == before.get(counter, 0), counter
    assert len(ours(sandbox, delivery)) == 4
    assert len([m for m in container.vault_services.vault.list(owner_id) if m.service == "woocommerce"]) == 1
    assert container.catalog.product_count(owner_id) == 47


def test_a_webhook_deleted_upstream_is_recreated_and_a_foreign_one_survives(
    container: Container, sandbox: Sandbox, owner_id: str
) -> None:
    delivery = connect_woocommerce(container, sandbox, owner_id)
    store = sandbox.woo.store("demo")
    theirs = store.create_webhook(
        name="theirs", topic="order.created", delivery_url="https://example.test/hook", secret="x", status="paused"
    )
    gone = next(h for h in ours(sandbox, delivery) if h.topic == "product.updated")
    store.webhooks.pop(gone.id)
    paused = next(h for h in ours(sandbox, delivery) if h.topic == "order.created")
    paused.status = "disabled"
    registered = sandbox.counters().get("woocommerce.webhooks_registered", 0)

    run = fix(container, owner_id, "woocommerce")

    assert run.status == "succeeded", run.error
    assert run.summary.startswith(
        "WooCommerce repaired. What was broken: 1 OmniOps webhook was missing, 1 OmniOps webhook was paused or "
        "disabled. What I did: re-created 1 webhook, re-activated 1 webhook, re-synced 47 products and "
    )
    assert sandbox.counters().get("woocommerce.webhooks_registered", 0) == registered + 1
    mine = ours(sandbox, delivery)
    assert sorted(h.topic for h in mine) == sorted(WEBHOOK_TOPICS)
    assert all(h.status == "active" for h in mine)
    assert paused.id in {h.id for h in mine}  # woken up, not replaced
    assert store.webhooks[theirs.id].status == "paused"  # nobody else's webhook is touched
    assert store.webhooks[theirs.id].delivery_url == "https://example.test/hook"


def test_without_a_stored_connection_the_run_fails_and_says_how_to_connect(
    container: Container, sandbox: Sandbox, owner_id: str
) -> None:
    run = fix(container, owner_id, "woocommerce")
    assert run.status in ("failed", "compensated")
    assert run.error == (
        "WooCommerce is not connected to OmniOps, so there is nothing to repair. "
        'Say "set up WooCommerce" to connect your store.'
    )
    assert sandbox.counters().get("woocommerce.webhooks_registered", 0) == 0

    run = fix(container, owner_id, "stripe")
    assert run.status in ("failed", "compensated") and run.recipe == "stripe.fix"
    assert 'Say "connect Stripe"' in (run.error or "")


def test_a_500_while_diagnosing_is_retried_and_the_repair_succeeds(
    container: Container, sandbox: Sandbox, owner_id: str
) -> None:
    connect_woocommerce(container, sandbox, owner_id)
    store_path = "/stores/demo/wp-json/wc/v3/system_status"
    sandbox.faults.error_burst("woocommerce", status=500, times=1, path=store_path)

    run = fix(container, owner_id, "woocommerce")

    assert run.status == "succeeded", run.error
    assert run.summary.startswith("Nothing was broken")
    assert sandbox.counters().get("woocommerce.faults_injected") == 1
    steps = container.journal.step_rows(run.id)
    assert steps["diagnose"].status == "done" and steps["diagnose"].tries == 1


def test_a_healthy_stripe_connection_is_left_alone_without_a_test_charge(
    container: Container, sandbox: Sandbox, owner_id: str
) -> None:
    account = sandbox.stripe.connect_account(name="Mugs & Co")
    tokens = sandbox.stripe.issue_tokens(account)
    container.vault_services.vault.put(
        owner_id,
        "stripe",
        f"Stripe {account.id}",
        {"access_token": tokens["access_token"], "stripe_user_id": account.id, "run_id": "run_setup"},
    )
    before = sandbox.counters()

    run = fix(container, owner_id, "stripe")

    assert run.status == "succeeded", run.error
    assert run.summary == (
        "Stripe repaired. What was broken: OmniOps' webhook endpoint was missing. "
        "What I did: re-created the webhook endpoint."
    )
    after = sandbox.counters()
    assert after.get("stripe.charges", 0) == before.get("stripe.charges", 0)
    assert after.get("stripe.webhooks_registered", 0) == before.get("stripe.webhooks_registered", 0) + 1

    run = fix(container, owner_id, "stripe")  # now nothing is broken
    assert run.status == "succeeded", run.error
    assert run.summary == ("Nothing was broken: the Stripe token works and OmniOps' webhook endpoint is enabled.")
    assert sandbox.counters().get("stripe.webhooks_registered", 0) == after.get("stripe.webhooks_registered", 0)

    endpoint = next(o for o in account.objects.values() if o.get("object") == "webhook_endpoint")
    endpoint["status"] = "disabled"  # as Stripe does after failed deliveries
    run = fix(container, owner_id, "stripe")
    assert run.status == "succeeded", run.error
    assert run.summary == (
        "Stripe repaired. What was broken: OmniOps' webhook endpoint was disabled. "
        "What I did: enabled the webhook endpoint again."
    )
    assert endpoint["status"] == "enabled"
    assert sandbox.counters().get("stripe.webhooks_registered", 0) == after.get("stripe.webhooks_registered", 0)
