"""The same WooCommerce setup driven from the SMS channel (Twilio-signed inbound texts), end to end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from gateway.demo import DEMO_OWNER_PHONE
from tests.e2e.stack import URL_RE, Stack
from tests.e2e.test_woocommerce_setup import approve_in_wp_admin

pytestmark = pytest.mark.browser


def text_in(stack: Stack, body: str) -> str:
    """The owner texts OmniOps; returns the TwiML reply body."""
    resp = stack.sandbox.twilio.send_inbound(f"{stack.url}/v1/channels/twilio/sms", DEMO_OWNER_PHONE, body)
    assert resp.status_code == 200, resp.text
    return resp.text


def test_sms_yes_code_runs_the_setup_once_and_texts_the_result(stack: Stack, page: Page) -> None:
    first = text_in(stack, f"set up woocommerce at {stack.store_url('demo')}")
    code = re.search(r"YES (\d{6})", first)
    assert code is not None, first
    assert "isn't valid" in text_in(stack, "YES 000000")  # a wrong code is answered, not obeyed
    assert stack.container.journal.latest_run(stack.seed.owner_id) is None
    started = text_in(stack, f"YES {code.group(1)}")
    assert "setting up WooCommerce" in started
    again = text_in(stack, f"YES {code.group(1)}")
    assert "isn't valid" in again or "already" in again
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None
    stack.wait_run(run.id, ("waiting_for_owner",))
    wc_auth = URL_RE.search(stack.wait_text(r"wc-auth").split("admin: ", 1)[1])
    assert wc_auth is not None
    approve_in_wp_admin(page, wc_auth.group(0))
    done = stack.wait_run(run.id, ("succeeded", "failed", "compensated"))
    assert done.status == "succeeded", done.error
    stack.wait_text(r"OmniOps: Done: Done! 47 products synced")
    assert stack.sandbox.counters().get("woocommerce.keys_created") == 1
    status = text_in(stack, "is it done yet")
    assert "47 products synced" in status


def test_revoked_siri_token_is_refused_with_401_and_nothing_runs(stack: Stack) -> None:
    assert stack.siri("what's the status")["status"] is not None
    (token,) = [t for t in stack.container.owners.list_tokens(stack.seed.owner_id) if t.active]
    stack.container.owners.revoke_token(stack.seed.owner_id, token.id, agent="test")
    resp = stack.http.post(
        f"{stack.url}/v1/channels/siri",
        json={"text": "connect stripe"},
        headers={"Authorization": f"Bearer {stack.seed.siri_token}"},
    )
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert stack.seed.siri_token not in resp.text
    assert stack.texts() == [] and stack.container.journal.latest_run(stack.seed.owner_id) is None
