"""Alexa end to end: account linking over OAuth (PKCE), signed skill requests verified against a test CA
served through the cert mirror, a voice "yes" that texts a consent link (never grants by itself), the setup,
the done-SMS and the Proactive Events nudge to the Alexa simulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.e2e.stack import LINK_RE, URL_RE, Stack, running_stack
from tests.e2e.test_woocommerce_setup import approve_consent_link, approve_in_wp_admin
from tests.integration.oauth.oauth_support import Linker
from tests.voice_testkit import SKILL_ID, alexa_envelope, er_slot, local_server, make_pki, pem, signed

pytestmark = pytest.mark.browser
REDIRECT = "https://pitangui.amazon.com/api/skill/link/TESTVENDOR"
USER = "amzn1.ask.account.E2EUSER"


@pytest.fixture
def alexa_stack(tmp_path: Path) -> Iterator[tuple[Stack, Any]]:
    pki = make_pki()
    bundle = tmp_path / "alexa-ca.pem"
    bundle.write_bytes(pem(pki.root.cert))
    with local_server() as certs:
        certs.route("GET", "/echo.api/echo-api-cert-test.pem", 200, pki.chain_pem)
        with running_stack(
            tmp_path, alexa_skill_id=SKILL_ID, alexa_ca_bundle=bundle, alexa_cert_mirror=certs.base_url
        ) as stack:
            yield stack, pki.leaf.key


def link_account(stack: Stack) -> str:
    """The owner links the skill in the Alexa app: sign in, approve, code → token (PKCE)."""
    client = stack.container.oauth.store.add_client(name="Alexa", redirect_uris=[REDIRECT], agent="test")
    linker = Linker(stack.url, client.record.id, client.secret, redirect_uri=REDIRECT)
    try:
        code, verifier = _code_with_password(linker, stack)
        resp = linker.exchange(code, verifier)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])
    finally:
        linker.close()


def _code_with_password(linker: Linker, stack: Stack) -> tuple[str, str]:
    from tests.integration.oauth.oauth_support import pkce_pair, query_of

    verifier, challenge = pkce_pair()
    url = linker.authorize_url(challenge=challenge, state="alexa-state")
    linker.login(stack.seed.email, stack.seed.password, next_path=url)
    resp = linker.decide(url)
    assert resp.status_code == 302, resp.text
    params = query_of(resp.headers["Location"])
    assert params["state"] == "alexa-state"
    return params["code"], verifier


def ask(stack: Stack, key: Any, envelope: dict[str, Any]) -> dict[str, Any]:
    headers, body = signed(envelope, key)
    resp = httpx.post(f"{stack.url}/v1/channels/alexa", content=body, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_alexa_setup_with_voice_yes_sms_link_done_text_and_nudge(alexa_stack: tuple[Stack, Any], page: Page) -> None:
    stack, key = alexa_stack
    token = link_account(stack)
    # the owner allowed notifications in the Alexa app
    ask(
        stack,
        key,
        alexa_envelope(
            request_type="AlexaSkillEvent.SkillPermissionAccepted",
            intent=None,
            user_id=USER,
            token=token,
            extra_request={"body": {"acceptedPermissions": [{"scope": "alexa::devices:all:notifications:write"}]}},
        ),
    )
    slots = {
        "service": er_slot("service", "woo commerce", "woocommerce"),
        "store_url": {"name": "store_url", "value": stack.store_url("demo"), "confirmationStatus": "NONE"},
    }
    # Alexa names its API endpoint and a per-request API token; here they point at the sandbox's Alexa API
    api = {
        "api_endpoint": str(stack.container.settings.provider_url("alexa_api")),
        "api_access_token": stack.sandbox.alexa.issue_api_access_token(USER),
    }
    first = ask(
        stack, key, alexa_envelope(intent="SetupIntegrationIntent", slots=slots, token=token, user_id=USER, **api)
    )
    [spoken] = stack.sandbox.alexa.sent_of("directive")  # "working on it" while the request is handled
    assert spoken["user"] == USER and spoken["speech"]
    directives = first["response"].get("directives", [])
    assert directives and directives[0]["type"] == "Dialog.ConfirmIntent"
    assert first["response"]["shouldEndSession"] is False
    assert stack.texts() == []  # nothing sent before the yes
    yes = ask(
        stack,
        key,
        alexa_envelope(
            intent="SetupIntegrationIntent", slots=slots, token=token, user_id=USER, confirmation="CONFIRMED", **api
        ),
    )
    assert "sent a link to your phone" in yes["response"]["outputSpeech"]["ssml"]
    assert stack.container.journal.latest_run(stack.seed.owner_id) is None  # a voice yes grants nothing

    link = LINK_RE.search(stack.wait_text(LINK_RE))
    assert link is not None
    approve_consent_link(page, link.group(0), "alexa")
    run = stack.container.journal.latest_run(stack.seed.owner_id)
    assert run is not None and run.reply_route.channel == "alexa"
    stack.wait_run(run.id, ("waiting_for_owner",))
    wc_auth = URL_RE.search(stack.wait_text(r"wc-auth").split("admin: ", 1)[1])
    assert wc_auth is not None
    approve_in_wp_admin(page, wc_auth.group(0))
    done = stack.wait_run(run.id, ("succeeded", "failed", "compensated"))
    assert done.status == "succeeded", done.error
    stack.wait_text(r"OmniOps: Done: Done! 47 products synced")
    deadline = time.monotonic() + 30  # the nudge follows the done text (same notifier fan-out, next in line)
    while not stack.sandbox.alexa.sent_of("proactive_event") and time.monotonic() < deadline:
        time.sleep(0.1)
    nudges = stack.sandbox.alexa.sent_of("proactive_event")
    assert len(nudges) == 1
    assert nudges[0]["body"]["event"]["name"] == "AMAZON.MessageAlert.Activated"
    status = ask(stack, key, alexa_envelope(intent="JobStatusIntent", token=token, user_id=USER))
    assert "47 products synced" in status["response"]["outputSpeech"]["ssml"]


def test_unlinked_alexa_user_gets_the_link_account_card(alexa_stack: tuple[Stack, Any]) -> None:
    stack, key = alexa_stack
    out = ask(stack, key, alexa_envelope(intent="JobStatusIntent", token=None, user_id=USER))
    assert out["response"]["card"]["type"] == "LinkAccount"
    forged = alexa_envelope(intent="JobStatusIntent", token=None, user_id=USER)
    headers, body = signed(forged, key)
    resp = httpx.post(f"{stack.url}/v1/channels/alexa", content=body + b" ", headers=headers, timeout=30)
    assert resp.status_code == 400 and resp.headers["content-type"].startswith("application/problem+json")
