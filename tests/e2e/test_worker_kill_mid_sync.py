"""A worker process killed (SIGKILL) in the middle of a 10,000-product WooCommerce sync: another worker process
takes the run over after the lease, and the setup still ends with exactly one key, four webhooks and 10,000
products — nothing lost, nothing done twice. The gateway runs in the test; the runs go to `omniops worker`
processes sharing its SQLite database, queue file, secret and vault key (the embedded files, two processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pydantic import SecretStr

from tests.e2e.stack import LINK_RE, URL_RE, Stack, running_stack
from tests.e2e.test_woocommerce_setup import approve_consent_link, approve_in_wp_admin

pytestmark = pytest.mark.browser
LEASE = 4.0


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path, in_process_workers=False, worker_lease_seconds=LEASE) as s:
        yield s


def start_worker(stack: Stack, log: Path) -> subprocess.Popen[bytes]:
    s = stack.container.settings
    providers = {  # the same sandbox providers the gateway uses (texts, Stripe, Alexa)
        f"OMNIOPS_{name.upper()}": str(value.get_secret_value() if isinstance(value, SecretStr) else value)
        for name, value in s
        if value is not None and name.startswith(("twilio_", "stripe_", "alexa_client", "alexa_api", "lwa_"))
    }
    env = {
        **os.environ,
        **providers,
        "OMNIOPS_VAR_DIR": str(s.var_dir),
        "OMNIOPS_PUBLIC_URL": s.public_url,
        "OMNIOPS_ENV": "test",
        "OMNIOPS_WORKER_LEASE_SECONDS": str(LEASE),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker", "--concurrency", "1"], env=env, stdout=out, stderr=out
        )


def test_kill_9_mid_sync_then_a_new_worker_finishes_exactly_once(stack: Stack, page: Page, tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    first = start_worker(stack, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        reply = stack.siri(f"set up woocommerce at {stack.store_url('big')}")
        assert "sent a link to your phone" in reply["speech"]
        link = LINK_RE.search(stack.wait_text(LINK_RE))
        assert link is not None
        approve_consent_link(page, link.group(0), "kill")
        run = stack.container.journal.latest_run(stack.seed.owner_id)
        assert run is not None
        stack.wait_run(run.id, ("waiting_for_owner",), timeout=60)
        wc_auth = URL_RE.search(stack.wait_text(r"wc-auth").split("admin: ", 1)[1])
        assert wc_auth is not None
        approve_in_wp_admin(page, wc_auth.group(0), password="big-admin-pass")

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # kill as soon as the sync is visibly under way
            if any("Synced" in e.message for e in stack.container.journal.events(run.id)):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the sync never started: {log.read_text()[-2000:]}")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert stack.container.journal.get_run(run.id).status == "running"  # the dead worker's lease holds it
        second = start_worker(stack, log)

        done = stack.wait_run(run.id, ("succeeded", "failed", "compensated"), timeout=180)
        assert done.status == "succeeded", done.error
        assert done.summary == "Done! 10000 products synced. Try: 'Show me your best sellers'"
        counters = stack.sandbox.counters()
        assert counters.get("woocommerce.keys_created") == 1
        assert counters.get("woocommerce.webhooks_registered") == 4
        assert stack.container.catalog.product_count(stack.seed.owner_id) == 10_000
        recoveries = [e for e in stack.container.journal.events(run.id) if e.kind == "started"]
        assert len(recoveries) >= 2, "the run was taken over by the second worker"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)
