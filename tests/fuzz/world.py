"""The product as the fuzz suite sees it: the real container and app (SQLite, Tink vault, SQL audit, Huey queue,
no worker), real Alexa/Google verification against a local test CA and certs endpoint, a local Twilio API, and
one seeded owner whose secrets must never appear in a response.

Everything is built from `build_container(settings)`; the test only swaps what points at the internet (Google's
certs URL), wires the Alexa/Google account-linking resolver to the owner-token store (bootstrap leaves it
unset), and lifts the chat/SMS rate limits so fuzzing reaches past them (429 is still a valid answer).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from chat.sessions import WidgetSigner
from core.ports import Addon, Plan
from gateway.app import create_app
from gateway.bootstrap import Container, build_container
from gateway.ratelimit import MemoryBackend, RateLimiter, Rule
from gateway.settings import Settings
from tests.voice_testkit import (
    GOOGLE_KID,
    GOOGLE_PROJECT,
    SKILL_ID,
    LocalServer,
    Pki,
    google_key_and_cert,
    local_server,
    make_pki,
    pem,
)
from voice.google_assistant import build_google_adapter

CERT_PATH = "/echo.api/echo-api-cert-test.pem"
PUBLIC_URL = "http://localhost"
SECRET_KEY = "fuzz-secret-key-" + "k" * 40
TWILIO_SID = "AC" + "f" * 32
TWILIO_TOKEN = "fuzz-twilio-auth-token-0123456789ab"
TWILIO_FROM = "+15005550006"
OWNER_PHONE = "+15557770001"
SHOP_ORIGIN = "https://shop.example"
WOO_CONSUMER_SECRET = "cs_" + "5" * 40  # a sandbox-style WooCommerce consumer secret, kept in the vault
WOO_CONSUMER_KEY = "ck_" + "6" * 40

ACCEPTED = "(accepted, reached the handlers)"
#: Inputs tried per target in this process (reported at the end of the session).
TRIED: Counter[str] = Counter()
_TRIED_LOCK = threading.Lock()


def tried(target: str, n: int = 1) -> None:
    """Count ``n`` inputs sent to ``target``."""
    with _TRIED_LOCK:
        TRIED[target] += n


def examples(default: int) -> int:
    """Examples per property: ``OMNIOPS_FUZZ_EXAMPLES`` (the long run) or the short default."""
    raw = os.environ.get("OMNIOPS_FUZZ_EXAMPLES", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


@dataclass
class FuzzWorld:
    container: Container
    app: Flask
    server: LocalServer
    pki: Pki
    google_key: Any
    owner_id: str
    siri_token: str
    voice_token: str  # an Alexa/Google account-linking access token (real OAuth store)
    chat_token: str
    revoked_token: str
    widget_key: str
    person_id: str
    secrets: list[str] = field(default_factory=list)

    def counts(self) -> tuple[int, int, int]:
        """(consent requests, executor runs, queued messages) right now."""
        with self.container.engine.connect() as conn:
            consents = conn.execute(sa.text("select count(*) from consent_requests")).scalar_one()
            runs = conn.execute(sa.text("select count(*) from executor_runs")).scalar_one()
        return int(consents), int(runs), int(self.container.executor.queue.pending())

    def leaked(self, data: bytes | str) -> list[str]:
        """The secrets that appear in ``data`` (raw, or JSON-escaped)."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        return [s for s in self.secrets if s in text or json.dumps(s)[1:-1] in text]

    def widget_session(self, *, origin: str = SHOP_ORIGIN) -> str:
        """A fresh logged-in widget session token for the owner, issued through the real route."""
        client = self.app.test_client()
        resp = client.post("/v1/chat/sessions", json={"key": self.widget_key}, headers={"Origin": origin})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return str(resp.get_json()["token"])


def _vault_key_material(path: Path) -> list[str]:
    """Every long string in the vault root key file (the key material itself)."""
    raw = path.read_text()
    return sorted({m for m in re.findall(r"[A-Za-z0-9+/=_-]{24,}", raw)})


@contextmanager
def fuzz_world(tmp: Path) -> Iterator[FuzzWorld]:
    """Build the world under ``tmp``; closes everything afterwards."""
    pki = make_pki()
    gkey, gcert = google_key_and_cert()
    with local_server() as server:
        server.route("GET", CERT_PATH, 200, pki.chain_pem, "application/x-pem-file")
        server.route("GET", "/oauth2/v1/certs", 200, {GOOGLE_KID: gcert.decode()})
        server.route(
            "POST",
            f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
            201,
            {"sid": "SM" + "0" * 32, "status": "queued"},
        )
        bundle = tmp / "alexa-ca.pem"
        bundle.write_bytes(pem(pki.root.cert))
        settings = Settings(
            var_dir=tmp / "var",
            env="test",
            public_url=PUBLIC_URL,
            secret_key=SECRET_KEY,
            alexa_skill_id=SKILL_ID,
            alexa_ca_bundle=bundle,
            alexa_cert_mirror=server.base_url,
            google_project_id=GOOGLE_PROJECT,
            twilio_account_sid=TWILIO_SID,
            twilio_auth_token=TWILIO_TOKEN,
            twilio_from=TWILIO_FROM,
            twilio_base_url=server.base_url,
            log_json=True,
        )
        container = build_container(settings)
        try:
            yield _seed(container, server, pki, gkey, settings)
        finally:
            container.close()


def link_voice(container: Container, owner_id: str, person_id: str) -> str:
    """A real account-linking access token for ``owner_id``, issued through the OAuth store's own grant path
    (the HTTP flow itself is tested in tests/integration/oauth)."""
    store = container.oauth.store
    client = store.add_client(name=f"Alexa for {owner_id}", redirect_uris=["https://pitangui.amazon.com/link"],
                              agent="test")
    code, access = secrets.token_urlsafe(16), "ooa_" + secrets.token_urlsafe(32)
    store.save_code(code, client_id=client.record.id, redirect_uri="https://pitangui.amazon.com/link", scope="voice",
                    code_challenge=None, code_challenge_method=None, owner_id=owner_id, person_id=person_id)
    redeemed = store.redeem_code(code, client.record.id)
    assert redeemed is not None
    store.issue_tokens(redeemed.grant_id, grant_type="authorization_code", access_token=access,
                       refresh_token="oor_" + secrets.token_urlsafe(32))
    return access


def _seed(container: Container, server: LocalServer, pki: Pki, gkey: Any, settings: Settings) -> FuzzWorld:
    c = container
    c.google = build_google_adapter(project_id=GOOGLE_PROJECT, certs_url=f"{server.base_url}/oauth2/v1/certs")

    c.rate_limiter = RateLimiter(
        backend=MemoryBackend(),
        rules={
            name: Rule(limit=10**9, window_seconds=60)
            for name in ("chat_ip", "chat_owner", "chat_session_issue_ip", "sms_ip", "sms_phone", "sms_owner")
        },
    )
    owners = c.owners
    owner = owners.create_owner(name="Fuzz Mugs", plan=Plan.AI_ASSISTED, addons=[Addon.CUSTOM_WORKFLOW.value])
    person = owners.add_person(owner.id, name="Fuzz Owner", email="fuzz@example.com", password="fuzz-pass-123456")
    phone = owners.add_phone(owner.id, OWNER_PHONE, person_id=person.id)
    owners.phones.mark_verified(owner.id, phone.id, agent="test")
    siri = owners.create_token(owner.id, name="siri", scopes=["siri", "runs:read"], person_id=person.id)
    chat = owners.create_token(owner.id, name="chat", scopes=["chat", "runs:read"], person_id=person.id)
    revoked = owners.create_token(owner.id, name="old", scopes=["siri", "runs:read"], person_id=person.id)
    owners.revoke_token(owner.id, revoked.record.id)
    c.vault_services.vault.put(
        owner.id, "woocommerce", "demo", {"consumer_key": WOO_CONSUMER_KEY, "consumer_secret": WOO_CONSUMER_SECRET}
    )
    widget_key = WidgetSigner(secret=c.secret_key).issue_key(
        owner_id=owner.id, origins=[SHOP_ORIGIN], person_id=person.id, now=c.clock.now()
    )
    root_key = settings.var_dir / "vault-root-key.json"
    secrets = [
        siri.raw,
        chat.raw,
        revoked.raw,
        c.secret_key,
        TWILIO_TOKEN,
        WOO_CONSUMER_SECRET,
        *_vault_key_material(root_key),
    ]
    app = create_app(container=c)
    app.config["TESTING"] = False  # exercise the real error boundary, not test-mode propagation
    return FuzzWorld(
        container=c,
        app=app,
        server=server,
        pki=pki,
        google_key=gkey,
        owner_id=owner.id,
        siri_token=siri.raw,
        voice_token=link_voice(c, owner.id, person.id),
        chat_token=chat.raw,
        revoked_token=revoked.raw,
        widget_key=widget_key,
        person_id=person.id,
        secrets=secrets,
    )
