"""Tenant isolation: with owner A's credentials (API token, widget session, signed-in account, verified phone,
linked voice token), no route reads or changes owner B's runs, events, consents, credentials, catalog, phones
or tokens. Every route of the app is either public (allow-list below) or covered here; a new owner route without
an isolation test fails `test_every_route_is_public_or_covered_by_an_isolation_test`.

B's data is snapshotted (every row of every table with an ``owner_id`` column, plus B's run steps) before A acts
and compared afterwards, so "never changes B's data" is checked on the database, not only on status codes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

from chat.sessions import WidgetSigner
from core.commands import AuthLevel, Channel, Command, Principal, ReplyRoute
from core.ports import Addon, Plan
from executor.recipes.woocommerce import DECLARATION
from gateway.bootstrap import schema_components
from gateway.callbacks.service import sign_webhook
from tests.fuzz.world import PUBLIC_URL, SHOP_ORIGIN, TWILIO_TOKEN, FuzzWorld, fuzz_world, link_voice
from tests.voice_testkit import alexa_envelope, google_token, signed

PASSWORD = "isolation-pass-123456"

#: Routes anyone may call: they hold no owner data, or their credential is not an owner's (a provider's
#: signature, a single-use link token, a publishable widget key). Owner-scoped ones are tested below.
PUBLIC = {
    "static",
    "ops.healthz",
    "ops.readyz",
    "ops.metrics",
    "ops.openapi",
    "identity.login",
    "identity.login_sms",
    "identity.logout",
    "consent.show",  # the single-use link token is the credential (tests/integration/consent)
    "consent.decide",
    "chat.preflight",
    "chat.create_session",  # a widget key → session for the key's own owner
    "chat.static_file",
    "chat.demo_page",
    "callbacks.woocommerce_keys",  # single-use run tokens (tests/integration/... callbacks)
    "callbacks.woocommerce_return",
    "callbacks.stripe_oauth",
    "callbacks.woocommerce_signin",  # a single-use run-bound token (tests/e2e/test_woocommerce_browser_key.py)
    "oauth.authorize",  # the signed-in person links their own owner only (tests/integration/oauth)
    "oauth.token",  # client credentials + single-use code / refresh token (tests/integration/oauth)
    "oauth.metadata",
}
#: Owner-scoped routes → the test below that proves A cannot reach B through them.
COVERED = {
    "runs.get_run": "test_runs_api",
    "runs.run_events": "test_runs_api",
    "consent.list_consents": "test_consents_api",
    "consent.revoke": "test_consents_api",
    "chat.post_message": "test_widget_chat",
    "chat.decide_consent": "test_widget_chat",
    "chat.events": "test_widget_chat",
    "identity.account": "test_account_pages",
    "identity.add_phone": "test_account_pages",
    "identity.verify_phone": "test_account_pages",
    "identity.resend_code": "test_account_pages",
    "identity.remove_phone": "test_account_pages",
    "identity.create_token": "test_account_pages",
    "identity.revoke_token": "test_account_pages",
    "voice.siri": "test_siri_channel",
    "voice.alexa": "test_voice_channels",
    "voice.google": "test_voice_channels",
    "sms.inbound_sms": "test_sms_channel",
    "callbacks.woocommerce_webhook": "test_woocommerce_webhook",
    "exports.exports": "test_data_exports_and_voice_links",
    "exports.download": "test_data_exports_and_voice_links",
    "oauth.linked_apps": "test_data_exports_and_voice_links",
    "oauth.unlink": "test_data_exports_and_voice_links",
}


@dataclass
class Tenant:
    owner_id: str
    person_id: str
    email: str
    phone: str
    phone_id: str
    token: str
    token_id: str
    voice_token: str
    widget_key: str
    run_id: str
    pending_consent: str
    pending_code: str
    standing_consent: str
    marker: str  # a string only this owner's data contains (store URL, product name)


@dataclass
class Two:
    world: FuzzWorld
    a: Tenant
    b: Tenant

    @property
    def client(self) -> FlaskClient:
        return self.world.app.test_client()

    def snapshot(self, owner_id: str) -> dict[str, list[tuple[Any, ...]]]:
        """Every row that belongs to ``owner_id`` (audit rows excluded: refused attempts may be audited)."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        engine = self.world.container.engine
        with engine.connect() as conn:
            run_ids = [
                r[0] for r in conn.execute(sa.text("select id from executor_runs where owner_id = :o"), {"o": owner_id})
            ]
            for _, _, metadata in schema_components():
                for table in metadata.sorted_tables:
                    if table.name.startswith("audit"):
                        continue
                    if "owner_id" in table.c:
                        query = sa.select(table).where(table.c.owner_id == owner_id)
                    elif "run_id" in table.c:
                        query = sa.select(table).where(table.c.run_id.in_(run_ids))
                    else:
                        continue
                    out[table.name] = sorted((tuple(map(str, row)) for row in conn.execute(query)), key=str)
        return out


def _seed(world: FuzzWorld, name: str, email: str, phone: str, marker: str) -> Tenant:
    c = world.container
    owners = c.owners
    owner = owners.create_owner(name=name, plan=Plan.AI_ASSISTED, addons=[Addon.CUSTOM_WORKFLOW.value])
    person = owners.add_person(owner.id, name=name, email=email, password=PASSWORD)
    record = owners.add_phone(owner.id, phone, person_id=person.id)
    owners.phones.mark_verified(owner.id, record.id, agent="test")
    token = owners.create_token(
        owner.id, name="api", scopes=["siri", "runs:read", "chat", "consents"], person_id=person.id
    )
    principal = Principal(owner_id=owner.id, person_id=person.id, auth=AuthLevel.TOKEN)

    def command(store: str) -> Command:
        return Command(
            channel=Channel.SIRI,
            principal=principal,
            intent="setup_integration",
            params={"service": "woocommerce", "store_url": store},
            reply_route=ReplyRoute(channel=Channel.SMS, to=phone),
            request_id=f"req-{marker}",
            received_at=c.clock.now(),
        )

    pending = c.consents.create(command=command(f"https://{marker}.example"), declaration=DECLARATION)
    standing_decl = DECLARATION.model_copy(update={"standing": True, "duration": "until revoked"})
    standing = c.consents.create(command=command(f"https://{marker}-standing.example"), declaration=standing_decl)
    c.consents.decide(standing.record.id, approve=True, evidence={"via": "test"})
    run = c.journal.create_run(
        owner_id=owner.id,
        recipe="woocommerce.setup",
        params={"service": "woocommerce", "store_url": f"https://{marker}.example"},
        consent_id=standing.record.id,
        reply_route=ReplyRoute(channel=Channel.SMS, to=phone),
    )
    key = WidgetSigner(secret=c.secret_key).issue_key(
        owner_id=owner.id, origins=[SHOP_ORIGIN], person_id=person.id, now=c.clock.now()
    )
    return Tenant(
        owner_id=owner.id,
        person_id=person.id,
        email=email,
        phone=phone,
        phone_id=record.id,
        token=token.raw,
        token_id=token.record.id,
        voice_token=link_voice(c, owner.id, person.id),
        widget_key=key,
        run_id=run.id,
        pending_consent=pending.record.id,
        pending_code=pending.sms_code,
        standing_consent=standing.record.id,
        marker=marker,
    )


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Two]:
    with fuzz_world(Path(tmp_path_factory.mktemp("isolation"))) as world:
        a = _seed(world, "Alpha Mugs", "a@example.com", "+15551110001", "alpha-shop")
        b = _seed(world, "Bravo Teas", "b@example.com", "+15552220002", "bravo-shop")
        c = world.container
        c.vault_services.vault.put(b.owner_id, "woocommerce", "bravo", {"consumer_secret": "cs_bravo_" + "9" * 30})
        c.catalog.upsert_products(
            b.owner_id, [{"id": 7, "name": "Bravo Secret Blend", "total_sales": 12, "stock_quantity": 1}]
        )
        yield Two(world=world, a=a, b=b)


@pytest.fixture
def unchanged_b(two: Two) -> Iterator[None]:
    """Fail the test if anything A did changed a row of B's."""
    before = two.snapshot(two.b.owner_id)
    yield
    after = two.snapshot(two.b.owner_id)
    changed = {t: (before[t], after.get(t)) for t in before if before[t] != after.get(t)}
    assert not changed, f"owner B's data changed: {changed}"


def _leaks_b(two: Two, text: str) -> list[str]:
    b = two.b
    markers = [b.run_id, b.pending_consent, b.standing_consent, b.marker, "Bravo", b.phone, b.token_id, b.phone_id]
    return [m for m in markers if m in text]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _widget_session(two: Two, tenant: Tenant) -> dict[str, str]:
    resp = two.client.post("/v1/chat/sessions", json={"key": tenant.widget_key}, headers={"Origin": SHOP_ORIGIN})
    assert resp.status_code == 201
    return {"Authorization": f"Bearer {resp.get_json()['token']}", "Origin": SHOP_ORIGIN}


# ------------------------------------------------------------------------------------------------ the route list
def test_every_route_is_public_or_covered_by_an_isolation_test(two: Two) -> None:
    endpoints = {rule.endpoint for rule in two.world.app.url_map.iter_rules()}
    uncovered = endpoints - PUBLIC - set(COVERED)
    assert not uncovered, f"owner routes without a tenant-isolation test: {sorted(uncovered)}"
    assert not (PUBLIC & set(COVERED))
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(COVERED.values()) <= tests
    assert set(COVERED) <= endpoints, f"stale entries: {sorted(set(COVERED) - endpoints)}"


# ------------------------------------------------------------------------------------------------ owner API
def test_runs_api(two: Two, unchanged_b: None) -> None:
    a, b = two.a, two.b
    own = two.client.get(f"/v1/runs/{a.run_id}", headers=_bearer(a.token))
    assert own.status_code == 200 and own.get_json()["id"] == a.run_id
    for path in (f"/v1/runs/{b.run_id}", f"/v1/runs/{b.run_id}/events", f"/v1/runs/{b.run_id}/events?after=-5"):
        resp = two.client.get(path, headers=_bearer(a.token))
        assert resp.status_code == 404, path
        assert not _leaks_b(two, resp.get_data(as_text=True).replace(b.run_id, "")), path
    assert two.world.container.journal.get_run(b.run_id).owner_id == b.owner_id  # it exists: A just can't see it


def test_consents_api(two: Two, unchanged_b: None) -> None:
    a, b = two.a, two.b
    # regression: the route asks for scope "consents", which identity tokens could not carry (always 403)
    listed = two.client.get("/v1/consents", headers=_bearer(a.token))
    assert listed.status_code == 200, listed.get_data(as_text=True)
    ids = {g["id"] for g in listed.get_json()["consents"]}
    assert ids == {a.standing_consent}
    assert not _leaks_b(two, listed.get_data(as_text=True))
    for consent_id in (b.standing_consent, b.pending_consent):
        resp = two.client.post(f"/v1/consents/{consent_id}/revoke", headers=_bearer(a.token))
        assert resp.status_code == 404, resp.get_data(as_text=True)
    assert two.world.container.consents.get(b.standing_consent).status == "approved"


# ------------------------------------------------------------------------------------------------ widget
def test_widget_chat(two: Two, unchanged_b: None) -> None:
    a, b = two.a, two.b
    session = _widget_session(two, a)
    runs_before = two.world.counts()[1]
    for approve in (True, False):
        resp = two.client.post(f"/v1/chat/consents/{b.pending_consent}", json={"approve": approve}, headers=session)
        assert resp.status_code == 404, resp.get_data(as_text=True)
    assert two.world.counts()[1] == runs_before
    events = two.client.get("/v1/chat/events?poll=1", headers=session)
    assert events.status_code == 200
    run_ids = {e.get("run_id") for e in events.get_json()["events"]}
    assert a.run_id in run_ids and b.run_id not in run_ids
    resumed = two.client.get(f"/v1/chat/events?poll=1&after={b.run_id}:0", headers=session)
    assert b.run_id not in resumed.get_data(as_text=True)
    for text in (
        f"what's the status of {b.run_id}",
        f"cancel {b.run_id}",
        "show me my best sellers",
        "what's connected",
    ):
        resp = two.client.post("/v1/chat/messages", json={"text": text}, headers=session)
        assert resp.status_code == 200
        assert not _leaks_b(two, resp.get_data(as_text=True)), text
        assert resp.get_json().get("run_id") != b.run_id
        assert "Bravo Secret Blend" not in resp.get_data(as_text=True)


# ------------------------------------------------------------------------------------------------ account pages
def _login(client: FlaskClient, email: str) -> str:
    import re

    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    resp = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf.group(1)})
    assert resp.status_code == 302
    account = client.get("/account")
    assert account.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', account.get_data(as_text=True))
    assert token
    return token.group(1)


def test_account_pages(two: Two, unchanged_b: None) -> None:
    a, b = two.a, two.b
    client = two.client
    csrf = _login(client, a.email)
    page = client.get("/account").get_data(as_text=True)
    assert a.phone in page and not _leaks_b(two, page)
    for path in (
        f"/account/phones/{b.phone_id}/verify",
        f"/account/phones/{b.phone_id}/resend",
        f"/account/phones/{b.phone_id}/remove",
        f"/account/tokens/{b.token_id}/revoke",
    ):
        resp = client.post(path, data={"csrf_token": csrf, "code": "123456"})
        assert resp.status_code == 404, (path, resp.status_code)
    claimed = client.post("/account/phones", data={"csrf_token": csrf, "phone": b.phone})
    assert claimed.status_code in (400, 409), claimed.status_code
    created = client.post("/account/tokens", data={"csrf_token": csrf, "name": "mine", "scopes": ["siri"]})
    assert created.status_code == 201
    assert all(t.owner_id == a.owner_id for t in two.world.container.owners.list_tokens(a.owner_id))
    assert [t.active for t in two.world.container.owners.list_tokens(b.owner_id)] == [True]


def test_data_exports_and_voice_links(two: Two, unchanged_b: None) -> None:
    a, b = two.a, two.b
    client = two.client
    var = Path(two.world.container.settings.var_dir)
    b_export = var / "exports" / b.owner_id / "run_bexport.json"
    b_export.parent.mkdir(parents=True, exist_ok=True)
    b_export.write_text('{"owner_id": "' + b.owner_id + '"}')
    csrf = _login(client, a.email)
    listing = client.get("/account/exports").get_data(as_text=True)
    assert "run_bexport" not in listing
    assert client.get("/account/exports/run_bexport").status_code == 404
    b_links = two.world.container.oauth.store.list_links(b.owner_id)
    assert b_links, "B has a linked voice assistant"
    page = client.get("/account/linked-apps").get_data(as_text=True)
    assert b_links[0].grant_id not in page
    resp = client.post(f"/account/linked-apps/{b_links[0].grant_id}/revoke", data={"csrf_token": csrf})
    assert resp.status_code == 404
    assert [link.grant_id for link in two.world.container.oauth.store.list_links(b.owner_id)] == [
        link.grant_id for link in b_links
    ]
    (own,) = two.world.container.oauth.store.list_links(a.owner_id)
    assert own.grant_id in page  # A sees (and could revoke) A's own link on the same page


# ------------------------------------------------------------------------------------------------ channels
def _siri(two: Two, body: dict[str, Any]) -> dict[str, Any]:
    resp = two.client.post("/v1/channels/siri", json=body, headers=_bearer(two.a.token))
    assert resp.status_code in (200, 422), resp.get_data(as_text=True)
    return dict(resp.get_json())


def test_siri_channel(two: Two, unchanged_b: None) -> None:
    b = two.b
    replies = [
        _siri(two, {"text": f"what's the status of {b.run_id}"}),
        _siri(two, {"text": f"cancel {b.run_id}"}),
        _siri(two, {"intent": "job_status", "params": {"run_id": b.run_id}}),
        _siri(two, {"intent": "cancel_job", "params": {"run_id": b.run_id}}),
        _siri(two, {"intent": "store_report", "params": {"report": "best_sellers"}}),
        _siri(two, {"intent": "store_report", "params": {"report": "low_stock"}}),
        _siri(two, {"intent": "list_integrations", "params": {}}),
    ]
    for reply in replies:
        text = json.dumps(reply)
        assert reply.get("run_id") != b.run_id and not _leaks_b(two, text.replace(b.run_id, "")), text
        assert b.run_id not in (reply.get("status_url") or "")
    assert "Bravo Secret Blend" not in json.dumps(replies)
    assert "Nothing is connected" in replies[-1]["text"]  # B's WooCommerce credential is not A's


def test_sms_channel(two: Two, unchanged_b: None) -> None:
    a, b = two.a, two.b
    path = "/v1/channels/twilio/sms"
    validator = RequestValidator(TWILIO_TOKEN)
    for body in (f"status {b.run_id}", f"cancel {b.run_id}", f"YES {b.pending_code}", "NO", "best sellers"):
        form = {"From": a.phone, "To": "+15005550006", "Body": body, "MessageSid": "SM" + "2" * 32}
        headers = {"X-Twilio-Signature": validator.compute_signature(PUBLIC_URL + path, form)}
        resp = two.client.post(path, data=form, headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        twiml = resp.get_data(as_text=True)
        assert not _leaks_b(two, twiml), (body, twiml)
    assert two.world.container.consents.get(b.pending_consent).status == "pending"


def test_voice_channels(two: Two, unchanged_b: None) -> None:
    a, b = two.a, two.b
    world = two.world
    for intent, slots in (
        ("JobStatusIntent", {"run_id": {"name": "run_id", "value": b.run_id}}),
        ("CancelJobIntent", {"run_id": {"name": "run_id", "value": b.run_id}}),
        ("StoreReportIntent", {"report": {"name": "report", "value": "best sellers"}}),
        ("ListIntegrationsIntent", {}),
    ):
        envelope = alexa_envelope(intent=intent, slots=slots, token=a.voice_token)
        envelope["context"]["System"]["apiEndpoint"] = world.server.base_url
        headers, raw = signed(envelope, world.pki.leaf.key)
        resp = two.client.post("/v1/channels/alexa", data=raw, headers=headers)
        assert resp.status_code == 200
        speech = resp.get_json()["response"]["outputSpeech"]["ssml"]
        assert "link your" not in speech.lower(), "A's linked token was not honoured"
        assert not _leaks_b(two, json.dumps(resp.get_json()["response"].get("outputSpeech"))), speech
        assert "Bravo Secret Blend" not in speech
    for name, params in (
        ("job_status", {"run_id": {"resolved": b.run_id, "original": b.run_id}}),
        ("cancel_job", {"run_id": {"resolved": b.run_id, "original": b.run_id}}),
    ):
        payload = {
            "handler": {"name": "omniops"},
            "intent": {"name": name, "params": params, "query": f"{name} {b.run_id}"},
            "session": {"id": "iso-google", "params": {}},
            "user": {"locale": "en-US", "params": {"bearerToken": a.voice_token}},
        }
        headers = {"Content-Type": "application/json", "google-assistant-signature": google_token(world.google_key)}
        resp = two.client.post("/v1/channels/google", data=json.dumps(payload), headers=headers)
        assert resp.status_code == 200
        speech = json.dumps(resp.get_json().get("prompt"))
        assert not _leaks_b(two, speech.replace(b.run_id, "")) and "Bravo" not in speech


def test_woocommerce_webhook(two: Two, unchanged_b: None) -> None:
    """A's webhook secret does not sign deliveries into B's catalog."""
    a, b = two.a, two.b
    body = json.dumps({"id": 7, "name": "Overwritten by A", "total_sales": 0}).encode()
    secret_a = two.world.container.callbacks.webhook_secret(a.owner_id)
    headers = {"X-WC-Webhook-Signature": sign_webhook(secret_a, body), "X-WC-Webhook-Topic": "product.updated"}
    resp = two.client.post(f"/callbacks/woocommerce/webhook/{b.owner_id}", data=body, headers=headers)
    assert resp.status_code == 403
    own = two.client.post(f"/callbacks/woocommerce/webhook/{a.owner_id}", data=body, headers=headers)
    assert own.status_code == 200
