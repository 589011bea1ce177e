"""The consent link over real HTTP: GET never decides, POST needs CSRF, exactly one of many POSTs wins."""

from __future__ import annotations

import ssl
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from core.ports import ConsentStatus
from tests.integration.consent.conftest import CSRF_RE, World, build_world, open_page

BOTS = (
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.20.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "",
)


def _consent(world: World, link: str):  # type: ignore[no-untyped-def]
    record = world.store.get_by_token(link.rsplit("/", 1)[1])
    assert record is not None
    return record


def test_preview_bots_fetching_the_link_change_nothing(world: World) -> None:
    link = world.ask()
    for ua in BOTS:
        resp = httpx.get(link, headers={"User-Agent": ua})
        assert resp.status_code == 200 and "Approve" in resp.text
        head = httpx.head(link, headers={"User-Agent": ua})
        assert head.status_code == 200
    record = _consent(world, link)
    assert record.status is ConsentStatus.PENDING and record.decided_at is None
    assert world.journal.runs == {} and world.queue.enqueued == []
    views = world.actions("consent.viewed")
    assert len(views) >= len(BOTS) and all(v.consent_id == record.id for v in views)
    assert views[0].detail["likely_bot"] is True and views[0].ip_address == "127.0.0.1"
    assert world.actions("consent.approved") == [] and world.actions("consent.denied") == []


def test_page_shows_what_will_happen_and_sends_security_headers(world: World) -> None:
    link = world.ask()
    resp = httpx.get(link, headers={"User-Agent": "Mozilla/5.0 (iPhone)"})
    page = resp.text
    for text in (
        "Create WooCommerce API keys and sync your products",  # action
        "WooCommerce",  # service
        "read_write products",  # permissions
        "orders",  # data access
        "until revoked",  # duration
        "Acme Coffee, from Alexa",  # who asked, from which channel
        "https://shop.example.com",  # the exact params
        "This link expires at 12:15 UTC",  # FakeClock starts at 12:00 UTC; 15 minutes
        'value="approve"',
        'value="deny"',
    ):
        assert text in page, text
    assert '<meta name="viewport"' in page and "<script" not in page
    assert link.rsplit("/", 1)[1] not in page  # the form posts to its own URL; the token is not echoed
    assert world.actions("consent.viewed")[-1].detail["likely_bot"] is False
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "style-src 'nonce-" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/consent/" in cookie
    assert "Secure" not in cookie  # PUBLIC_URL is http:// here; see the https test
    assert link.rsplit("/", 1)[1] not in cookie


def test_cookie_is_secure_when_public_url_is_https(sqlite_engine: Engine, tmp_path: Path) -> None:
    world, stop = build_world(sqlite_engine, tmp_path, public_url="https://gw.example")
    try:
        link = world.ask().replace("https://gw.example", world.base_url)
        resp = httpx.get(link)
        assert resp.status_code == 200 and "Secure" in resp.headers["Set-Cookie"]
    finally:
        stop()


def test_post_without_or_with_wrong_csrf_is_refused(world: World) -> None:
    link = world.ask()
    other = world.ask()
    with httpx.Client() as client:
        _, csrf = open_page(client, link)
        _, other_csrf = open_page(client, other)
        attempts = [
            httpx.post(link, data={"decision": "approve"}),  # no cookie, no field
            httpx.post(link, data={"decision": "approve", "csrf": csrf}),  # field without the cookie
            client.post(link, data={"decision": "approve"}),  # cookie without the field
            client.post(link, data={"decision": "approve", "csrf": csrf[:-1] + ("0" if csrf[-1] != "0" else "1")}),
            client.post(link, data={"decision": "approve", "csrf": other_csrf}),  # another link's value
        ]
    assert [r.status_code for r in attempts] == [403] * 5
    assert all("out of date" in r.text for r in attempts)
    assert _consent(world, link).status is ConsentStatus.PENDING
    assert world.journal.runs == {} and world.queue.enqueued == []


def test_approve_queues_one_run_and_says_what_happens_next(world: World) -> None:
    link = world.ask()
    with httpx.Client(headers={"User-Agent": "Mozilla/5.0 (iPhone; test)"}) as client:
        _, csrf = open_page(client, link)
        resp = client.post(link, data={"decision": "approve", "csrf": csrf})
        again = client.get(link)
        replay = client.post(link, data={"decision": "approve", "csrf": csrf})
    assert resp.status_code == 200
    assert "Done — OmniOps is starting; you&#39;ll get a text when it finishes." in resp.text
    (run_id,) = world.journal.runs
    assert f"{world.base_url}/v1/runs/{run_id}" in resp.text and world.queue.enqueued == [run_id]
    record = _consent(world, link)
    assert record.status is ConsentStatus.APPROVED
    assert record.evidence["via"] == "link" and record.evidence["ip"] == "127.0.0.1"
    assert record.evidence["user_agent"] == "Mozilla/5.0 (iPhone; test)" and record.evidence["code_used"] is False
    (approved,) = world.actions("consent.approved")
    assert approved.consent_id == record.id and approved.ip_address == "127.0.0.1"
    assert again.status_code == 410 and "already approved" in again.text
    assert replay.status_code == 403 and len(world.journal.runs) == 1  # the decision cleared the CSRF cookie


def test_deny_queues_nothing(world: World) -> None:
    link = world.ask()
    with httpx.Client() as client:
        _, csrf = open_page(client, link)
        resp = client.post(link, data={"decision": "deny", "csrf": csrf})
    assert resp.status_code == 200 and "nothing will happen" in resp.text
    assert _consent(world, link).status is ConsentStatus.DENIED
    assert world.journal.runs == {} and len(world.actions("consent.denied")) == 1


def test_post_without_a_decision_decides_nothing(world: World) -> None:
    link = world.ask()
    with httpx.Client() as client:
        _, csrf = open_page(client, link)
        resp = client.post(link, data={"decision": "maybe", "csrf": csrf})
    assert resp.status_code == 400 and _consent(world, link).status is ConsentStatus.PENDING


def test_expired_link_shows_a_friendly_page_and_changes_nothing(world: World) -> None:
    link = world.ask()
    with httpx.Client() as client:
        _, csrf = open_page(client, link)
        world.clock.advance(15 * 60)
        page = client.get(link)
        post = client.post(link, data={"decision": "approve", "csrf": csrf})
    assert page.status_code == 410 and "expired" in page.text and "Approve" not in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert post.status_code == 410 and "expired" in post.text
    assert _consent(world, link).status is ConsentStatus.EXPIRED
    assert world.journal.runs == {} and world.queue.enqueued == []


@pytest.mark.parametrize("token", ["A" * 43, "short", "x" * 200])
def test_unknown_or_tampered_links_are_404(world: World, token: str) -> None:
    link = world.ask()
    assert httpx.get(f"{world.base_url}/consent/{token}").status_code == 404
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    resp = httpx.get(tampered)
    assert resp.status_code == 404 and "isn&#39;t valid" in resp.text
    assert httpx.post(tampered, data={"decision": "approve"}).status_code == 404
    assert _consent(world, link).status is ConsentStatus.PENDING


def test_hundred_concurrent_approvals_exactly_one_wins(any_world: World) -> None:
    world = any_world
    link = world.ask()
    n = 100
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    errors: list[BaseException] = []
    tls = ssl.create_default_context()  # built once: httpx would load the CA bundle 100 times otherwise

    def click() -> None:
        try:
            with httpx.Client(timeout=120, verify=tls) as client:
                page, csrf = open_page(client, link)
                assert page.status_code == 200 and csrf
                barrier.wait(timeout=120)
                statuses.append(client.post(link, data={"decision": "approve", "csrf": csrf}).status_code)
        except BaseException as err:  # reported below
            errors.append(err)
            barrier.abort()

    threads = [threading.Thread(target=click) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=180)
    assert errors == []
    assert Counter(statuses) == {200: 1, 410: n - 1}
    assert len(world.journal.runs) == 1 and len(world.queue.enqueued) == 1
    assert len(world.actions("consent.approved")) == 1 and len(world.actions("run.queued")) == 1
    assert _consent(world, link).status is ConsentStatus.APPROVED


def test_csrf_value_is_not_the_cookie(world: World) -> None:
    """Double submit with a MAC: the form value is derived from, never equal to, the cookie nonce."""
    link = world.ask()
    with httpx.Client() as client:
        resp, csrf = open_page(client, link)
        nonce = next(iter(client.cookies.jar)).value
    assert CSRF_RE.search(resp.text) and nonce and csrf != nonce and nonce not in resp.text
