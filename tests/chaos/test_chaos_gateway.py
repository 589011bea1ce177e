"""Fault matrix, gateway side, on the whole product over loopback HTTP (tests/e2e/stack.py: sandbox providers,
the real container, worker threads, the gateway): clock skew on signed Alexa requests, duplicate WooCommerce
webhook and Twilio SMS deliveries, 50 concurrent approvals of one consent. Each: nothing duplicated, no 5xx,
the audit chain verifies afterwards."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from chat import sms
from gateway.bootstrap import derive
from gateway.callbacks.service import sign_webhook
from gateway.consent.schema import consent_requests
from gateway.demo import DEMO_OWNER_PHONE
from gateway.ratelimit import DEFAULT_RULES
from gateway.widget_sessions import signer_for
from tests.chaos.chaos_support import TRIALS
from tests.e2e.stack import Stack, running_stack
from tests.voice_testkit import CERT_URL, SKILL_ID, Pki, alexa_envelope, local_server, make_pki, pem, signed
from vault.audit_verify import verify

pytestmark = pytest.mark.timeout(120 + 12 * TRIALS)  # the long version scales with OMNIOPS_CHAOS_TRIALS


ORIGIN = "https://shop.example"
SMS_PER_PHONE_PER_MINUTE = DEFAULT_RULES["sms_phone"].limit
APPROVALS = 50


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def stack(tmp_path: Path, pki: Pki) -> Iterator[Stack]:
    bundle = tmp_path / "alexa-root.pem"
    bundle.write_bytes(pem(pki.root.cert))
    with local_server() as mirror:
        mirror.route("GET", "/echo.api/echo-api-cert-test.pem", 200, pki.chain_pem, "application/x-pem-file")
        with running_stack(
            tmp_path, alexa_skill_id=SKILL_ID, alexa_ca_bundle=bundle, alexa_cert_mirror=mirror.base_url
        ) as s:
            yield s


def audit_ok(stack: Stack) -> None:
    result = verify(stack.container.engine, stack.container.vault_services.keyring)
    assert result.ok, result


# ------------------------------------------------------------------------------------------ clock skew
def alexa_at(stack: Stack, pki: Pki, skew_seconds: float) -> httpx.Response:
    # the timestamp travels in whole seconds (truncated) and the request takes a moment to arrive: round so that
    # both only move a case away from the 150 s boundary (refused stays past it, accepted stays within it)
    margin = 0.999 if (skew_seconds > 0) == (abs(skew_seconds) > 150) else 0.0
    stamp = datetime.now(UTC) + timedelta(seconds=skew_seconds + margin)
    envelope = alexa_envelope(intent="AMAZON.HelpIntent", token=None, timestamp=stamp)
    envelope["context"]["System"]["apiEndpoint"] = stack.url  # loopback only
    headers, body = signed(envelope, pki.leaf.key, url=CERT_URL)
    return stack.http.post(f"{stack.url}/v1/channels/alexa", headers=headers, content=body)


def test_alexa_clock_skew_past_150_s_is_refused_and_within_is_accepted(stack: Stack, pki: Pki) -> None:
    for _ in range(TRIALS):
        for skew in (-151, 151, -175, 300):
            resp = alexa_at(stack, pki, skew)
            assert resp.status_code == 400, (skew, resp.text)
            assert resp.headers["Content-Type"].startswith("application/problem+json")
        for skew in (-149, 149, -60, 0):
            resp = alexa_at(stack, pki, skew)
            assert resp.status_code == 200, (skew, resp.text)
            assert "outputSpeech" in resp.json()["response"]
    audit_ok(stack)


# ------------------------------------------------------------------------------------------ duplicate deliveries
def woo_delivery(stack: Stack, topic: str, body: dict[str, Any], delivery_id: str) -> httpx.Response:
    owner = stack.seed.owner_id
    key = derive(stack.container.secret_key, "woocommerce-webhooks")
    secret = hmac.new(key, owner.encode(), hashlib.sha256).hexdigest()
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Signature": sign_webhook(secret, raw),
        "X-WC-Webhook-Delivery-ID": delivery_id,
        "X-WC-Webhook-Source": stack.store_url(),
    }
    return stack.http.post(f"{stack.url}/callbacks/woocommerce/webhook/{owner}", headers=headers, content=raw)


def order_count(stack: Stack) -> int:
    from executor.catalog import orders

    with stack.container.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(orders).where(orders.c.owner_id == stack.seed.owner_id)
        return int(conn.execute(query).scalar_one())


def test_a_woocommerce_webhook_delivered_again_and_again_is_counted_once(stack: Stack) -> None:
    product = {"id": 9001, "name": "Replayed Mug", "regular_price": "12.00", "price": "12.00", "stock_quantity": 5}
    order = {"id": 7001, "status": "processing", "total": "24.00", "currency": "USD", "line_items": []}
    for trial in range(TRIALS):
        deliveries = [("product.created", product, f"d-p{trial}")] * 5 + [("order.created", order, f"d-o{trial}")] * 5
        with ThreadPoolExecutor(max_workers=5) as pool:
            answers = list(pool.map(lambda d: woo_delivery(stack, *d), deliveries))
        assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers if a.status_code != 200]
        assert stack.container.catalog.product_count(stack.seed.owner_id) == 1
        assert order_count(stack) == 1
    audit_ok(stack)


def twilio_inbound(stack: Stack, body: str, sid: str) -> httpx.Response:
    path = "/v1/channels/twilio/sms"
    settings = stack.container.settings
    form = {
        "MessageSid": sid,
        "AccountSid": settings.twilio_account_sid or "",
        "From": DEMO_OWNER_PHONE,
        "To": settings.twilio_from or "",
        "Body": body,
        "NumMedia": "0",
    }
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    signature = sms.compute_signature(settings.public_url.rstrip("/") + path, form, token)
    return stack.http.post(f"{stack.url}{path}", data=form, headers={"X-Twilio-Signature": signature})


def consent_rows(stack: Stack) -> int:
    with stack.container.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(consent_requests)
        return int(conn.execute(query.where(consent_requests.c.owner_id == stack.seed.owner_id)).scalar_one())


def test_a_twilio_sms_delivered_again_is_handled_once(stack: Stack) -> None:
    for trial in range(min(TRIALS, SMS_PER_PHONE_PER_MINUTE)):  # more would meet the per-phone rate limit (429)
        sid = "SM" + secrets.token_hex(16)
        texts_before, consents_before = len(stack.texts()), consent_rows(stack)
        text = f"set up woocommerce at {stack.store_url()}"
        answers = [twilio_inbound(stack, text, sid) for _ in range(3)]  # Twilio retrying the same message
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert "<Message>" in answers[0].text and "<Message>" not in answers[1].text + answers[2].text
        assert consent_rows(stack) == consents_before + 1, f"trial {trial}: one message, one consent request"
        time.sleep(0.3)  # any text a duplicate would trigger is sent synchronously, before the answer
        assert len(stack.texts()) <= texts_before + 1, stack.texts()[texts_before:]
    audit_ok(stack)


# ------------------------------------------------------------------------------------------ concurrent approvals
def widget_session(stack: Stack) -> str:
    owner = stack.seed.owner_id
    key = signer_for(stack.container.secret_key).issue_key(
        owner_id=owner, origins=[ORIGIN], person_id=owner, now=datetime.now(UTC)
    )
    resp = stack.http.post(f"{stack.url}/v1/chat/sessions", params={"key": key}, headers={"Origin": ORIGIN}, json={})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def test_fifty_concurrent_approvals_of_one_consent_start_exactly_one_run(stack: Stack) -> None:
    token = widget_session(stack)
    headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
    # each approval from its own loopback address (the per-IP chat limit is not under test here), and no more
    # trials than the per-owner chat limit lets through in a minute
    per_minute = DEFAULT_RULES["chat_owner"].limit // (APPROVALS + 5)
    for _ in range(min(max(1, TRIALS // 3), per_minute)):
        stack.siri(f"set up woocommerce at {stack.store_url()}")
        pending = stack.container.consents.latest_pending(stack.seed.owner_id)
        assert pending is not None
        url = f"{stack.url}/v1/chat/consents/{pending.id}"

        def approve(job: tuple[int, str]) -> int:
            index, target = job
            transport = httpx.HTTPTransport(local_address=f"127.0.1.{index + 1}")
            with httpx.Client(timeout=60, transport=transport) as client:
                return client.post(target, json={"approve": True}, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=APPROVALS) as pool:
            codes = Counter(pool.map(approve, [(i, url) for i in range(APPROVALS)]))
        # one approval wins; every other one is told it was already decided
        assert codes == {200: 1, 409: APPROVALS - 1}, codes
        record = stack.container.consents.get(pending.id)
        assert record is not None and record.status.value == "approved"
        started = run_ids_for_consent(stack, pending.id)
        assert len(started) == 1, f"{len(started)} runs for one consent ({codes})"
    audit_ok(stack)


def run_ids_for_consent(stack: Stack, consent_id: str) -> list[str]:
    from executor.schema import runs

    with stack.container.engine.connect() as conn:
        rows = conn.execute(sa.select(runs.c.id).where(runs.c.consent_id == consent_id)).all()
    return [r.id for r in rows]
