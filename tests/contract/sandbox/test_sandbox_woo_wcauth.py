"""wc-auth app authorization (§1.4) and the wp-admin REST key screens (§1.5), driven like a browser."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sandbox_receiver import Receiver

from sandbox.server import Sandbox


def _store(sandbox: Sandbox) -> str:
    return f"{sandbox.urls['woocommerce']}/stores/demo"


def _auth_params(receiver: Receiver, **over: str) -> dict[str, str]:
    params = {
        "app_name": "OmniOps",
        "scope": "read_write",
        "user_id": "owner-42",
        "return_url": "https://app.example.com/return?x=1",
        "callback_url": f"{receiver.url}/wc/callback",
    }
    params.update(over)
    return params


def _login_and_open_grant(sandbox: Sandbox, browser: httpx.Client, params: dict[str, str]) -> str:
    r = browser.get(f"{_store(sandbox)}/wc-auth/v1/authorize", params=params)
    assert r.status_code == 302 and "/wc-auth/v1/login" in r.headers["Location"]
    login = browser.get(r.headers["Location"])
    assert "wc-auth-login" in login.text
    r = browser.post(r.headers["Location"], data={"username": "admin", "password": "demo-admin-pass", **params})
    assert r.status_code == 302
    grant = browser.get(r.headers["Location"])
    assert grant.status_code == 200
    return grant.text


def _link(html: str, css_class: str) -> str:
    m = re.search(rf"href='([^']+)' class='[^']*{css_class}", html)
    assert m, html
    return unescape(m.group(1))


def test_wc_auth_approve_posts_keys_to_callback_and_redirects(sandbox: Sandbox, receiver: Receiver) -> None:
    params = _auth_params(receiver)
    with httpx.Client(timeout=10) as browser:
        grant = _login_and_open_grant(sandbox, browser, params)
        assert "OmniOps would like to connect to Demo Store" in grant
        assert "View and manage products" in grant and "Create webhooks" in grant
        r = browser.get(_link(grant, "wc-auth-approve"))
    assert r.status_code == 302
    target = urlsplit(r.headers["Location"])
    assert target.netloc == "app.example.com"
    assert parse_qs(target.query) == {"x": ["1"], "success": ["1"], "user_id": ["owner-42"]}
    [callback] = receiver.requests
    assert callback["headers"]["Content-Type"] == "application/json;charset=UTF-8"
    data = json.loads(callback["body"])
    assert set(data) == {"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}
    assert data["user_id"] == "owner-42" and data["key_permissions"] == "read_write"
    api = f"{_store(sandbox)}/wp-json/wc/v3/products"
    assert httpx.get(api, auth=(data["consumer_key"], data["consumer_secret"])).status_code == 200
    key = sandbox.woo.store("demo").keys[data["key_id"]]
    assert key.description.startswith("OmniOps - API (")


def test_wc_auth_key_deleted_when_callback_not_200(sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.status = 201  # anything but exactly 200
    params = _auth_params(receiver)
    created_before = sandbox.counters().get("woocommerce.keys_created", 0)
    with httpx.Client(timeout=10) as browser:
        grant = _login_and_open_grant(sandbox, browser, params)
        r = browser.get(_link(grant, "wc-auth-approve"))
    assert r.status_code == 401
    assert "unable to send the consumer data" in r.text
    data = json.loads(receiver.requests[0]["body"])
    assert data["key_id"] not in sandbox.woo.store("demo").keys
    assert sandbox.counters()["woocommerce.keys_created"] == created_before + 1
    assert sandbox.counters()["woocommerce.keys_deleted"] >= 1


def test_wc_auth_deny_returns_success_0(sandbox: Sandbox, receiver: Receiver) -> None:
    with httpx.Client(timeout=10) as browser:
        grant = _login_and_open_grant(sandbox, browser, _auth_params(receiver))
    deny = urlsplit(_link(grant, "wc-auth-deny"))
    assert parse_qs(deny.query)["success"] == ["0"] and parse_qs(deny.query)["user_id"] == ["owner-42"]
    assert receiver.requests == []


def test_wc_auth_approve_rejects_bad_nonce(sandbox: Sandbox, receiver: Receiver) -> None:
    with httpx.Client(timeout=10) as browser:
        grant = _login_and_open_grant(sandbox, browser, _auth_params(receiver))
        forged = re.sub(r"wc_auth_nonce=[^&]+", "wc_auth_nonce=forged", _link(grant, "wc-auth-approve"))
        r = browser.get(forged)
    assert r.status_code == 401 and "Invalid nonce verification" in r.text


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"app_name": ""}, "Error: Missing parameter app_name."),
        ({"scope": "admin"}, "Error: Invalid scope admin."),
        ({"callback_url": "http://callbacks.example.com/cb"}, "Error: The callback_url needs to be over SSL."),
    ],
)
def test_wc_auth_validation_errors(sandbox: Sandbox, receiver: Receiver, over: dict[str, str], message: str) -> None:
    r = httpx.get(f"{_store(sandbox)}/wc-auth/v1/authorize", params=_auth_params(receiver, **over))
    assert r.status_code == 401
    assert message in r.text


def test_wp_admin_add_key_shows_secret_once_and_revokes(sandbox: Sandbox) -> None:
    store = _store(sandbox)
    keys_page = f"{store}/wp-admin/admin.php?page=wc-settings&tab=advanced&section=keys"
    with httpx.Client(timeout=10) as browser:
        r = browser.get(keys_page)
        assert r.status_code == 302 and "/wp-login.php" in r.headers["Location"]
        bad = browser.post(f"{store}/wp-login.php", data={"log": "admin", "pwd": "nope", "redirect_to": keys_page})
        assert "login_error" in bad.text
        r = browser.post(
            f"{store}/wp-login.php", data={"log": "admin", "pwd": "demo-admin-pass", "redirect_to": keys_page}
        )
        assert r.headers["Location"] == keys_page
        form = browser.get(keys_page + "&create-key=1").text
        for element in ("key_description", "key_user", "key_permissions", "update_api_key"):
            assert f"id='{element}'" in form
        security = re.search(r"name='security' value='([^']+)'", form)
        assert security
        page = browser.post(
            keys_page + "&create-key=1",
            data={
                "security": security.group(1),
                "key_id": "0",
                "description": "Browser key",
                "user": "1",
                "permissions": "read_write",
                "update_api_key": "1",
            },
        ).text
        ck = re.search(r"id='key_consumer_key' type='text' readonly value='(ck_[0-9a-f]{40})'", page)
        cs = re.search(r"id='key_consumer_secret' type='text' readonly value='(cs_[0-9a-f]{40})'", page)
        assert ck and cs
        assert httpx.get(f"{store}/wp-json/wc/v3/products", auth=(ck.group(1), cs.group(1))).status_code == 200
        listing = browser.get(keys_page).text
        assert cs.group(1) not in listing  # the secret is shown only once
        assert ck.group(1)[-7:] in listing
        revoke = re.findall(r"href='([^']*revoke-key=\d+[^']*)'", listing)[-1]
        assert browser.get(unescape(revoke)).status_code == 302
    assert httpx.get(f"{store}/wp-json/wc/v3/products", auth=(ck.group(1), cs.group(1))).status_code == 401


def test_admin_ajax_update_api_key_json(sandbox: Sandbox) -> None:
    store = _store(sandbox)
    with httpx.Client(timeout=10) as browser:
        browser.post(f"{store}/wp-login.php", data={"log": "admin", "pwd": "demo-admin-pass"})
        form = browser.get(f"{store}/wp-admin/admin.php?page=wc-settings&tab=advanced&section=keys&create-key=1").text
        security = re.search(r"name='security' value='([^']+)'", form)
        assert security
        r = browser.post(
            f"{store}/wp-admin/admin-ajax.php",
            data={
                "action": "woocommerce_update_api_key",
                "security": security.group(1),
                "key_id": "0",
                "description": "Ajax",
                "user": "1",
                "permissions": "read",
            },
        ).json()
        assert r["success"] is True
        assert r["data"]["consumer_key"].startswith("ck_") and r["data"]["permissions"] == "read"
        assert "copy your new keys now" in r["data"]["message"]
        bad = browser.post(
            f"{store}/wp-admin/admin-ajax.php",
            data={"action": "woocommerce_update_api_key", "security": "x", "description": "d"},
        ).json()
        assert bad == {"success": False, "data": {"message": "Permission denied!"}}
