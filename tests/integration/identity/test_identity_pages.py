"""The identity pages through Flask's test client: logins, CSRF, account actions, cross-owner refusals."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.errors import AuthenticationRequired
from gateway.identity.records import IdentityPolicy
from gateway.identity.store import SqlOwners
from tests.integration.identity.identity_support import (
    PASSWORD,
    ListAudit,
    MutableClock,
    SmsOutbox,
    account_csrf,
    csrf_from,
    login,
)


@pytest.fixture
def acme(lite_store: SqlOwners, sms: SmsOutbox):
    """Owner A with a person, a verified phone and a token."""
    owner = lite_store.create_owner(name="Acme Goods", plan="ai_assisted")
    person = lite_store.add_person(owner.id, name="Ann", email="ann@acme.test", password=PASSWORD)
    phone = lite_store.add_phone(owner.id, "+15551230001", person_id=person.id)
    lite_store.start_phone_verification(owner.id, phone.id)
    lite_store.verify_phone(owner.id, phone.id, sms.last_code("+15551230001"))
    token = lite_store.create_token(owner.id, name="Acme Siri", scopes=["siri"])
    return owner, person, phone, token


@pytest.fixture
def bolt(lite_store: SqlOwners):
    """Owner B with an unverified phone and a token: what A must never touch."""
    owner = lite_store.create_owner(name="Bolt Bikes", plan="manual")
    person = lite_store.add_person(owner.id, name="Bo", email="bo@bolt.test", password=PASSWORD)
    phone = lite_store.add_phone(owner.id, "+15551239999")
    token = lite_store.create_token(owner.id, name="Bolt Secret Token", scopes=["siri"])
    return owner, person, phone, token


def test_password_login_good(client: FlaskClient, acme, audit: ListAudit) -> None:
    assert client.get("/account").status_code == 302
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": "ann@acme.test", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "Acme Goods" in page and "AI-Assisted" in page and "+15551230001" in page and "Acme Siri" in page
    assert audit.last("identity.login").detail["method"] == "password"
    assert audit.last("identity.login").ip_address == "127.0.0.1"


def test_password_login_bad_then_locked(client: FlaskClient, acme, audit: ListAudit, clock: MutableClock) -> None:
    assert login(client, "ann@acme.test", "wrong password") == 401
    assert client.get("/account").status_code == 302
    for _ in range(4):
        assert login(client, "ann@acme.test", "wrong password") == 401
    resp_status = login(client, "ann@acme.test", PASSWORD)
    assert resp_status == 429
    assert "identity.lockout" in audit.actions()
    clock.advance(minutes=16)
    assert login(client, "ann@acme.test", PASSWORD) == 302


def test_login_redirect_is_never_off_site(client: FlaskClient, acme) -> None:
    for target, expected in (
        ("/account?x=1", "/account?x=1"),
        ("//evil.test/x", "/account"),
        ("https://evil.test", "/account"),
    ):
        token = csrf_from(client.get("/login").get_data(as_text=True))
        resp = client.post(
            "/login", data={"email": "ann@acme.test", "password": PASSWORD, "csrf_token": token, "next": target}
        )
        assert resp.headers["Location"] == expected


def test_sms_code_login(client: FlaskClient, acme, sms: SmsOutbox, audit: ListAudit) -> None:
    _, person, _, _ = acme
    token = csrf_from(client.get("/login/sms").get_data(as_text=True))
    resp = client.post("/login/sms", data={"step": "phone", "phone": "+1 555 123 0001", "csrf_token": token})
    assert resp.status_code == 200 and 'name="code"' in resp.get_data(as_text=True)
    code = sms.last_code("+15551230001")
    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/login/sms", data={"step": "code", "code": wrong, "csrf_token": token}).status_code == 401
    resp = client.post("/login/sms", data={"step": "code", "code": code, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    assert client.get("/account").status_code == 200
    entry = audit.last("identity.login")
    assert entry.detail["method"] == "sms" and entry.agent == f"person:{person.id}"


def test_sms_code_login_bad_code(client: FlaskClient, acme, sms: SmsOutbox) -> None:
    token = csrf_from(client.get("/login/sms").get_data(as_text=True))
    client.post("/login/sms", data={"step": "phone", "phone": "+15551230001", "csrf_token": token})
    code = sms.last_code("+15551230001")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        resp = client.post("/login/sms", data={"step": "code", "code": wrong, "csrf_token": token})
        assert resp.status_code == 401 and 'name="code"' in resp.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    resp = client.post("/login/sms", data={"step": "code", "code": wrong, "csrf_token": token})
    assert resp.status_code == 401
    # five wrong guesses burn the code: even the right one no longer signs in
    resp = client.post("/login/sms", data={"step": "code", "code": code, "csrf_token": token})
    assert resp.status_code == 401
    assert client.get("/account").status_code == 302


def test_sms_code_without_a_challenge(client: FlaskClient, acme) -> None:
    token = csrf_from(client.get("/login/sms").get_data(as_text=True))
    resp = client.post("/login/sms", data={"step": "code", "code": "123456", "csrf_token": token})
    assert resp.status_code == 401 and "Ask for a new code" in resp.get_data(as_text=True)


def test_sms_login_unknown_number_looks_the_same(client: FlaskClient, acme, sms: SmsOutbox) -> None:
    token = csrf_from(client.get("/login/sms").get_data(as_text=True))
    before = len(sms.sent)
    resp = client.post("/login/sms", data={"step": "phone", "phone": "+15550000000", "csrf_token": token})
    assert resp.status_code == 200 and 'name="code"' in resp.get_data(as_text=True)
    assert len(sms.sent) == before


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/login", {"email": "ann@acme.test", "password": PASSWORD}),
        ("/login/sms", {"step": "phone", "phone": "+15551230001"}),
        ("/logout", {}),
    ],
)
def test_csrf_refused_without_token_on_public_forms(
    client: FlaskClient, acme, audit: ListAudit, path: str, data: dict[str, str]
) -> None:
    client.get(path)
    resp = client.post(path, data=data)
    assert resp.status_code == 403
    assert "identity.login" not in audit.actions()


def test_csrf_refused_on_account_forms(client: FlaskClient, acme, lite_store: SqlOwners) -> None:
    owner, _, _, token = acme
    assert login(client, "ann@acme.test") == 302
    real = account_csrf(client)
    attempts = [
        ("/account/tokens", {"name": "evil", "scopes": "siri"}),
        (f"/account/tokens/{token.record.id}/revoke", {}),
        ("/account/phones", {"phone": "+15551230077"}),
    ]
    for path, data in attempts:
        assert client.post(path, data=data).status_code == 403
        assert client.post(path, data={**data, "csrf_token": "forged" + real[6:]}).status_code == 403
        resp = client.post(path, data={**data, "csrf_token": real}, headers={"Origin": "https://evil.test"})
        assert resp.status_code == 403
    assert [t.name for t in lite_store.list_tokens(owner.id)] == ["Acme Siri"]
    assert lite_store.list_tokens(owner.id)[0].active
    assert len(lite_store.phones.list(owner.id)) == 1


def test_token_create_shown_once_and_revoke(client: FlaskClient, acme, lite_store: SqlOwners, audit: ListAudit) -> None:
    owner, person, _, _ = acme
    login(client, "ann@acme.test")
    resp = client.post(
        "/account/tokens",
        data={"name": "Kitchen iPad", "scopes": ["siri", "runs:read"], "csrf_token": account_csrf(client)},
    )
    assert resp.status_code == 201
    raw = re.search(r"oo_[A-Za-z0-9_-]{43}", resp.get_data(as_text=True))
    assert raw is not None
    assert resp.headers["Cache-Control"] == "no-store"
    assert raw.group(0) not in client.get("/account").get_data(as_text=True)
    principal = lite_store.resolve_token(raw.group(0), "siri")
    assert principal.owner_id == owner.id and principal.person_id == person.id
    new = next(t for t in lite_store.list_tokens(owner.id) if t.name == "Kitchen iPad")
    resp = client.post(f"/account/tokens/{new.id}/revoke", data={"csrf_token": account_csrf(client)})
    assert resp.status_code == 302
    with pytest.raises(AuthenticationRequired):
        lite_store.resolve_token(raw.group(0), "siri")
    assert audit.last("identity.token_revoked").agent == f"person:{person.id}"


def test_add_and_verify_phone_on_the_page(client: FlaskClient, acme, lite_store: SqlOwners, sms: SmsOutbox) -> None:
    owner, _, _, _ = acme
    login(client, "ann@acme.test")
    resp = client.post("/account/phones", data={"phone": "+15551230002", "csrf_token": account_csrf(client)})
    assert resp.status_code == 302
    phone = next(p for p in lite_store.phones.list(owner.id) if p.number == "+15551230002")
    resp = client.post(
        f"/account/phones/{phone.id}/verify", data={"code": "12345x", "csrf_token": account_csrf(client)}
    )
    assert resp.status_code == 400
    code = sms.last_code("+15551230002")
    resp = client.post(f"/account/phones/{phone.id}/verify", data={"code": code, "csrf_token": account_csrf(client)})
    assert resp.status_code == 302
    found = lite_store.by_verified_phone("+15551230002")
    assert found is not None and found.id == owner.id


def test_phone_claimed_by_another_owner_refused_on_the_page(client: FlaskClient, acme, bolt) -> None:
    login(client, "bo@bolt.test")
    resp = client.post("/account/phones", data={"phone": "+15551230001", "csrf_token": account_csrf(client)})
    assert resp.status_code == 409
    assert "another account" in resp.get_data(as_text=True)


def _owner_routes(app: Flask) -> list[str]:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("identity.") and "POST" in (r.methods or ())]
    return [r.rule for r in rules if r.rule.startswith("/account/") and r.arguments]


def test_cross_owner_access_refused_on_every_owner_route(
    client: FlaskClient, app: Flask, acme, bolt, lite_store: SqlOwners, sms: SmsOutbox
) -> None:
    b_owner, _, b_phone, b_token = bolt
    routes = _owner_routes(app)
    assert len(routes) == 4  # verify, resend, remove phone; revoke token
    login(client, "ann@acme.test")
    ids = {"phone_id": b_phone.id, "token_id": b_token.record.id}
    sent_before = len(sms.sent)
    for rule in routes:
        path = re.sub(r"<(\w+)>", lambda m: ids[m.group(1)], rule)
        resp = client.post(path, data={"code": "123456", "csrf_token": account_csrf(client)})
        assert resp.status_code == 404, rule
    page = client.get("/account").get_data(as_text=True)
    assert "Bolt" not in page and "+15551239999" not in page
    assert lite_store.list_tokens(b_owner.id)[0].active
    assert lite_store.resolve_token(b_token.raw, "siri").owner_id == b_owner.id
    assert [p.id for p in lite_store.phones.list(b_owner.id)] == [b_phone.id]
    assert len(sms.sent) == sent_before


def test_signed_out_people_reach_no_owner_route(client: FlaskClient, app: Flask, bolt, lite_store: SqlOwners) -> None:
    b_owner, _, b_phone, b_token = bolt
    ids = {"phone_id": b_phone.id, "token_id": b_token.record.id}
    token = csrf_from(client.get("/login").get_data(as_text=True))
    for rule in [*_owner_routes(app), "/account/tokens", "/account/phones"]:
        path = re.sub(r"<(\w+)>", lambda m: ids[m.group(1)], rule)
        resp = client.post(path, data={"csrf_token": token, "name": "x", "scopes": "siri", "phone": "+15551230055"})
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert lite_store.list_tokens(b_owner.id)[0].active and len(lite_store.list_tokens(b_owner.id)) == 1


def test_staff_may_look_but_not_change(client: FlaskClient, acme, lite_store: SqlOwners) -> None:
    owner, _, _, token = acme
    lite_store.add_person(owner.id, name="Sam", email="sam@acme.test", role="staff", password=PASSWORD)
    login(client, "sam@acme.test")
    page = client.get("/account").get_data(as_text=True)
    assert "Acme Goods" in page and "Create token" not in page
    resp = client.post(f"/account/tokens/{token.record.id}/revoke", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 403
    assert lite_store.list_tokens(owner.id)[0].active


def test_logout_ends_the_server_session(app: Flask, acme, audit: ListAudit) -> None:
    with app.test_client() as client:
        login(client, "ann@acme.test")
        stolen = client.get_cookie("omniops_session")
        assert stolen is not None
        resp = client.post("/logout", data={"csrf_token": account_csrf(client)})
        assert resp.status_code == 302 and resp.headers["Location"] == "/login"
        assert client.get("/account").status_code == 302
    assert "identity.logout" in audit.actions()
    with app.test_client() as replay:
        replay.set_cookie("omniops_session", stolen.value)
        assert replay.get("/account").status_code == 302


def test_session_cookie_flags_and_page_headers(app: Flask, acme) -> None:
    from gateway.web import configure_sessions

    configure_sessions(app, public_url="https://omniops.example")
    with app.test_client() as client:
        token = csrf_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
        resp = client.post(
            "/login",
            base_url="https://localhost",
            data={"email": "ann@acme.test", "password": PASSWORD, "csrf_token": token},
        )
        cookie = resp.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_session_fixation_prevented(client: FlaskClient, acme) -> None:
    before = csrf_from(client.get("/login").get_data(as_text=True))
    assert login(client, "ann@acme.test") == 302
    assert account_csrf(client) != before


@pytest.mark.parametrize("policy", [IdentityPolicy(login_attempts_per_ip=2)])
def test_login_rate_limited_per_ip_on_the_page(client: FlaskClient, acme) -> None:
    assert login(client, "x@acme.test", "wrong password") == 401
    assert login(client, "y@acme.test", "wrong password") == 401
    assert login(client, "ann@acme.test", PASSWORD) == 429


def test_identity_routes_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/login", "/login/sms", "/logout", "/account", "/account/tokens", "/account/tokens/{token_id}/revoke"):
        assert path in paths
    assert paths["/account/tokens"]["post"]["summary"] == "Create an owner API token (shown once)"
