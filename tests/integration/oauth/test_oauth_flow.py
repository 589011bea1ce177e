"""Account linking end to end over real HTTP: login → grant page → code → tokens → principal."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from core.commands import AuthLevel
from core.errors import AuthenticationRequired
from tests.integration.identity.identity_support import ListAudit, MutableClock
from tests.integration.oauth.conftest import World
from tests.integration.oauth.oauth_support import ALEXA_REDIRECT, Linker, csrf_from, pkce_pair, query_of


def test_full_flow_links_alexa_to_the_owner(world: World, linker: Linker, audit: ListAudit) -> None:
    verifier, challenge = pkce_pair()
    url = linker.authorize_url(challenge=challenge, state="alexa-state-42")

    first = linker.browser.get(url)
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/login?next=")
    linker.login("ada@acme.test", next_path=url)

    page = linker.browser.get(url)
    assert page.status_code == 200
    assert "Link Alexa to Acme Garden Supplies?" in page.text
    assert "ask OmniOps to run setups after your approval" in page.text
    assert "form-action 'self' https://pitangui.amazon.com" in page.headers["Content-Security-Policy"]

    approved = linker.browser.post(url, data={"decision": "approve", "csrf_token": csrf_from(page.text)})
    assert approved.status_code == 302
    location = approved.headers["Location"]
    assert location.startswith(ALEXA_REDIRECT + "?")
    params = query_of(location)
    assert params["state"] == "alexa-state-42"
    assert set(params) == {"code", "state"}

    resp = linker.exchange(params["code"], verifier)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "voice"
    assert body["access_token"].startswith("ooa_") and body["refresh_token"].startswith("oor_")

    principal = world.oauth.resolve_access_token(body["access_token"])
    assert principal.owner_id == world.owner_id
    assert principal.person_id == world.person.id
    assert principal.auth is AuthLevel.LINKED

    actions = audit.actions()
    for expected in ("oauth.authorization_approved", "oauth.linked", "oauth.token_issued"):
        assert expected in actions
    linked = audit.last("oauth.linked")
    assert linked.owner_id == world.owner_id and linked.detail["client_id"] == world.alexa.record.id
    # no secret ever reaches the audit trail
    dumped = " ".join(e.model_dump_json() for e in audit.entries)
    for secret in (params["code"], body["access_token"], body["refresh_token"], world.alexa.secret, verifier):
        assert secret not in dumped


def test_client_secret_post_is_accepted(linker: Linker) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    resp = linker.exchange(code, verifier, auth="post")
    assert resp.status_code == 200, resp.text


def test_wrong_verifier_is_invalid_grant_and_burns_the_code(linker: Linker) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    other, _ = pkce_pair()
    resp = linker.exchange(code, other)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"
    assert resp.headers["Cache-Control"] == "no-store"
    assert linker.exchange(code, verifier).json()["error"] == "invalid_grant"


def test_absent_verifier_is_refused(linker: Linker) -> None:
    code, _ = linker.get_code("ada@acme.test")
    resp = linker.exchange(code, None)
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "no PKCE at all"),
        ({"code_challenge_method": "plain"}, "plain method"),
        ({"code_challenge_method": None}, "method missing (would default to plain)"),
        ({"code_challenge": "too-short"}, "malformed challenge"),
    ],
)
def test_authorization_without_s256_pkce_is_refused(linker: Linker, extra: dict[str, str | None], why: str) -> None:
    linker.login("ada@acme.test")
    _, challenge = pkce_pair()
    resp = linker.browser.get(linker.authorize_url(challenge=challenge, state="s-9", **extra))
    assert resp.status_code == 302, why
    location = resp.headers["Location"]
    assert location.startswith(ALEXA_REDIRECT + "?"), why
    params = query_of(location)
    assert params["error"] == "invalid_request", why
    assert params["state"] == "s-9"
    assert "code" not in params


def test_missing_state_is_refused(linker: Linker) -> None:
    linker.login("ada@acme.test")
    _, challenge = pkce_pair()
    resp = linker.browser.get(linker.authorize_url(challenge=challenge, state=None))
    assert resp.status_code == 302
    params = query_of(resp.headers["Location"])
    assert params["error"] == "invalid_request" and "code" not in params


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/cb",
        ALEXA_REDIRECT + "/extra",  # prefix match is not a match
        ALEXA_REDIRECT + "?x=1",
        ALEXA_REDIRECT.upper(),
        None,  # missing: no default either
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(
    linker: Linker, redirect_uri: str | None
) -> None:
    linker.login("ada@acme.test")
    _, challenge = pkce_pair()
    resp = linker.browser.get(linker.authorize_url(challenge=challenge, redirect_uri=redirect_uri))
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "This link request is not valid" in resp.text
    # also before anyone signs in: no login page for a request that cannot succeed
    anon = Linker(linker.base_url, linker.client_id, linker.client_secret)
    try:
        fresh = anon.browser.get(linker.authorize_url(challenge=challenge, redirect_uri=redirect_uri))
    finally:
        anon.close()
    assert fresh.status_code == 400 and "Location" not in fresh.headers


def test_unknown_client_gets_an_error_page(linker: Linker) -> None:
    _, challenge = pkce_pair()
    resp = linker.browser.get(linker.authorize_url(challenge=challenge, client_id="ooc_nobody"))
    assert resp.status_code == 400
    assert "Location" not in resp.headers
    assert "client" in resp.text.lower()


def test_redirect_uri_must_match_at_the_token_endpoint(linker: Linker) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    resp = linker.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://evil.example/cb",
            "code_verifier": verifier,
        }
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client(world: World, linker: Linker) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    google = world.linker(world.google)
    try:
        resp = google.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": ALEXA_REDIRECT,
                "code_verifier": verifier,
            }
        )
    finally:
        google.close()
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    assert linker.exchange(code, verifier).status_code == 200  # the rightful client still can


def test_code_reuse_fails_and_revokes_the_first_tokens(world: World, linker: Linker, audit: ListAudit) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    first = linker.exchange(code, verifier)
    assert first.status_code == 200
    access, refresh = first.json()["access_token"], first.json()["refresh_token"]
    assert world.oauth.resolve_access_token(access).owner_id == world.owner_id

    second = linker.exchange(code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    with pytest.raises(AuthenticationRequired):
        world.oauth.resolve_access_token(access)
    assert linker.refresh(refresh).json()["error"] == "invalid_grant"
    entry = audit.last("oauth.code_reused")
    assert entry.success is False and entry.owner_id == world.owner_id


def test_expired_code_is_invalid_grant(linker: Linker, clock: MutableClock) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    clock.advance(seconds=301)
    resp = linker.exchange(code, verifier)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_family(world: World, linker: Linker, audit: ListAudit) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    tokens = linker.exchange(code, verifier).json()

    rotated = linker.refresh(tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["Cache-Control"] == "no-store"
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"] and new["access_token"] != tokens["access_token"]
    assert world.oauth.resolve_access_token(new["access_token"]).person_id == world.person.id

    again = linker.refresh(tokens["refresh_token"])  # the old one: reuse
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # the whole family is gone, including the newest pair
    with pytest.raises(AuthenticationRequired):
        world.oauth.resolve_access_token(new["access_token"])
    assert linker.refresh(new["refresh_token"]).json()["error"] == "invalid_grant"
    assert audit.last("oauth.refresh_reused").success is False


def test_expired_access_token_needs_a_refresh(world: World, linker: Linker, clock: MutableClock) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    tokens = linker.exchange(code, verifier).json()
    clock.advance(seconds=3601)
    with pytest.raises(AuthenticationRequired):
        world.oauth.resolve_access_token(tokens["access_token"])
    fresh = linker.refresh(tokens["refresh_token"]).json()
    assert world.oauth.resolve_access_token(fresh["access_token"]).owner_id == world.owner_id


def test_grant_post_without_csrf_is_403_and_issues_nothing(linker: Linker, audit: ListAudit) -> None:
    linker.login("ada@acme.test")
    _, challenge = pkce_pair()
    resp = linker.decide(linker.authorize_url(challenge=challenge), csrf=False)
    assert resp.status_code == 403
    assert "Location" not in resp.headers
    assert "oauth.authorization_approved" not in audit.actions()


def test_deny_redirects_with_access_denied(linker: Linker, audit: ListAudit) -> None:
    linker.login("ada@acme.test")
    _, challenge = pkce_pair()
    resp = linker.decide(linker.authorize_url(challenge=challenge, state="deny-me"), "deny")
    assert resp.status_code == 302
    params = query_of(resp.headers["Location"])
    assert resp.headers["Location"].startswith(ALEXA_REDIRECT + "?")
    assert params["error"] == "access_denied" and params["state"] == "deny-me" and "code" not in params
    assert "oauth.authorization_denied" in audit.actions()


def test_staff_cannot_link(world: World, linker: Linker) -> None:
    linker.login("sam@acme.test")
    _, challenge = pkce_pair()
    url = linker.authorize_url(challenge=challenge)
    page = linker.browser.get(url)
    assert page.status_code == 200 and "Only an account owner can link" in page.text
    token = csrf_from(linker.browser.get("/account").text)  # the grant page shows staff no form
    resp = linker.browser.post(url, data={"decision": "approve", "csrf_token": token})
    assert resp.status_code == 403 and "Location" not in resp.headers


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_wrong_client_secret_is_invalid_client_401(linker: Linker, auth: str) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    resp = linker.exchange(code, verifier, auth=auth, secret="oos_wrong")
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client"
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert resp.headers["Cache-Control"] == "no-store"
    assert linker.exchange(code, verifier).status_code == 200  # a failed client auth did not burn the code


def test_unknown_client_at_token_endpoint_is_401(linker: Linker) -> None:
    anon = Linker(linker.base_url, "ooc_nobody", "oos_whatever")
    try:
        resp = anon.exchange("code", "v" * 43)
    finally:
        anon.close()
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", ""])
def test_other_grant_types_are_unsupported(linker: Linker, grant_type: str) -> None:
    resp = linker.token({"grant_type": grant_type, "username": "ada@acme.test", "password": "x"})
    assert resp.status_code == 400
    assert resp.json()["error"] == "unsupported_grant_type"


def test_missing_code_is_invalid_request(linker: Linker) -> None:
    resp = linker.token({"grant_type": "authorization_code", "redirect_uri": ALEXA_REDIRECT})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


def test_owner_unlinks_from_the_account_page(world: World, linker: Linker, audit: ListAudit) -> None:
    code, verifier = linker.get_code("ada@acme.test")
    tokens = linker.exchange(code, verifier).json()
    page = linker.browser.get("/account/linked-apps")
    assert page.status_code == 200 and "Alexa" in page.text and "Ada Owner" in page.text
    [link] = world.oauth.store.list_links(world.owner_id)
    resp = linker.browser.post(
        f"/account/linked-apps/{link.grant_id}/revoke", data={"csrf_token": csrf_from(page.text)}
    )
    assert resp.status_code == 302
    with pytest.raises(AuthenticationRequired):
        world.oauth.resolve_access_token(tokens["access_token"])
    assert linker.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert world.oauth.store.list_links(world.owner_id) == []
    assert audit.last("oauth.unlinked").owner_id == world.owner_id


@pytest.fixture
def no_pkce_linker(world: World) -> Iterator[Linker]:
    client = world.oauth.store.add_client(
        name="Google Home",
        redirect_uris=["https://oauth-redirect.googleusercontent.com/r/home"],
        pkce_required=False,
        agent="test",
    )
    link = Linker(world.base_url, client.record.id, client.secret, client.record.redirect_uris[0])
    link.login("ada@acme.test")
    yield link
    link.close()


def _approve_code(link: Linker, url: str) -> str:
    resp = link.decide(url)
    assert resp.status_code == 302, resp.text
    params = query_of(resp.headers["Location"])
    assert "error" not in params, params
    return params["code"]


def test_pkce_exempt_client_links_without_pkce(no_pkce_linker: Linker) -> None:
    code = _approve_code(no_pkce_linker, no_pkce_linker.authorize_url(challenge=None))
    assert no_pkce_linker.exchange(code, None).status_code == 200


def test_pkce_exempt_client_cannot_inject_a_verifier(no_pkce_linker: Linker) -> None:
    code = _approve_code(no_pkce_linker, no_pkce_linker.authorize_url(challenge=None))
    verifier, _ = pkce_pair()
    resp = no_pkce_linker.exchange(code, verifier)  # RFC 9700 §4.8: verifier without a challenge
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


def test_pkce_exempt_client_still_has_pkce_enforced_when_it_sends_it(no_pkce_linker: Linker) -> None:
    verifier, challenge = pkce_pair()
    code = _approve_code(no_pkce_linker, no_pkce_linker.authorize_url(challenge=challenge))
    assert no_pkce_linker.exchange(code, None).json()["error"] == "invalid_request"
    code = _approve_code(no_pkce_linker, no_pkce_linker.authorize_url(challenge=challenge))
    assert no_pkce_linker.exchange(code, pkce_pair()[0]).json()["error"] == "invalid_grant"
    code = _approve_code(no_pkce_linker, no_pkce_linker.authorize_url(challenge=challenge))
    assert no_pkce_linker.exchange(code, verifier).status_code == 200
    plain = no_pkce_linker.browser.get(no_pkce_linker.authorize_url(challenge=challenge, code_challenge_method="plain"))
    assert query_of(plain.headers["Location"])["error"] == "invalid_request"


def test_metadata_names_the_endpoints(world: World, linker: Linker) -> None:
    body = linker.browser.get("/.well-known/oauth-authorization-server").json()
    issuer = world.app.extensions["omniops"].settings.public_url.rstrip("/")
    assert body["issuer"] == issuer
    assert body["authorization_endpoint"] == f"{issuer}/oauth/authorize"
    assert body["token_endpoint"] == f"{issuer}/oauth/token"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in body["grant_types_supported"] and "password" not in body["grant_types_supported"]


def test_routes_are_described_in_the_openapi_document(world: World) -> None:
    from gateway.openapi import build_spec

    paths = build_spec(world.app)["paths"]
    for path, method in [
        ("/oauth/authorize", "get"),
        ("/oauth/authorize", "post"),
        ("/oauth/token", "post"),
        ("/account/linked-apps", "get"),
        ("/account/linked-apps/{grant_id}/revoke", "post"),
        ("/.well-known/oauth-authorization-server", "get"),
    ]:
        assert paths[path][method]["tags"] == ["oauth"], path


def test_tokens_never_reach_the_logs_even_at_debug(linker: Linker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code, verifier = linker.get_code("ada@acme.test")
    tokens = linker.exchange(code, verifier).json()
    refreshed = linker.refresh(tokens["refresh_token"]).json()
    client_side = ("httpx", "httpcore")  # the test's own HTTP client logs the Location header it receives
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(client_side))
    assert logged  # DEBUG logging really was on
    for secret in (
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed["access_token"],
        linker.client_secret,
    ):
        assert secret not in logged


def test_plain_http_on_a_public_host_is_refused(linker: Linker) -> None:
    """Behind a TLS proxy without ProxyFix the request URL is http://public-host: Authlib refuses it."""
    _, challenge = pkce_pair()
    page = linker.browser.get(linker.authorize_url(challenge=challenge), headers={"Host": "omniops.example"})
    assert page.status_code == 400 and "Location" not in page.headers
    token = linker.browser.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "x"}, headers={"Host": "omniops.example"}
    )
    assert token.status_code == 400 and token.json()["error"] == "insecure_transport"


def test_implicit_grant_is_refused(linker: Linker) -> None:
    linker.login("ada@acme.test")
    _, challenge = pkce_pair()
    resp = linker.browser.get(linker.authorize_url(challenge=challenge, response_type="token", state="imp"))
    assert resp.status_code == 302
    params = query_of(resp.headers["Location"])
    assert params["error"] == "unsupported_response_type" and params["state"] == "imp"
    assert "access_token" not in resp.headers["Location"]
