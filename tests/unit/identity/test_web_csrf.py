"""gateway.web: CSRF tokens, session cookie settings and safe redirects, on a bare Flask app."""

from __future__ import annotations

import re

import pytest
from flask import Flask, render_template_string

from core.errors import OmniOpsError
from gateway.web import configure_sessions, init_web, require_csrf, rotate_session, safe_next


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "test-secret-key-for-csrf-only"
    configure_sessions(app, public_url="http://localhost:8000")
    init_web(app)

    @app.get("/form")
    def form() -> str:
        return render_template_string('<form method="post">{{ csrf_field() }}</form>')

    @app.post("/form")
    def submit() -> str:
        require_csrf()
        return "ok"

    @app.post("/rotate")
    def rotate() -> str:
        rotate_session()
        return "rotated"

    @app.errorhandler(OmniOpsError)
    def err(e: OmniOpsError) -> tuple[str, int]:
        return e.code, e.status

    return app


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m
    return m.group(1)


def test_form_with_token_accepted(app: Flask) -> None:
    c = app.test_client()
    token = _token(c.get("/form").get_data(as_text=True))
    assert len(token) >= 40
    assert c.post("/form", data={"csrf_token": token}).get_data(as_text=True) == "ok"
    assert c.post("/form", headers={"X-CSRF-Token": token}).status_code == 200
    assert c.post("/form", data={"csrf_token": token}, headers={"Origin": "http://localhost"}).status_code == 200


def test_csrf_refused_without_or_with_wrong_token(app: Flask) -> None:
    c = app.test_client()
    token = _token(c.get("/form").get_data(as_text=True))
    for data in ({}, {"csrf_token": ""}, {"csrf_token": token[:-1] + ("A" if token[-1] != "A" else "B")}):
        resp = c.post("/form", data=data)
        assert (resp.status_code, resp.get_data(as_text=True)) == (403, "csrf_failed")
    assert c.post("/form", data={"csrf_token": token}, headers={"Origin": "https://evil.test"}).status_code == 403
    fresh = app.test_client()  # a token from another session is worthless
    fresh.get("/form")
    assert fresh.post("/form", data={"csrf_token": token}).status_code == 403


def test_rotation_invalidates_the_old_token(app: Flask) -> None:
    c = app.test_client()
    token = _token(c.get("/form").get_data(as_text=True))
    c.post("/rotate", data={"csrf_token": token})
    assert c.post("/form", data={"csrf_token": token}).status_code == 403


def test_cookie_settings() -> None:
    app = Flask(__name__)
    configure_sessions(app, public_url="https://omniops.example")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    configure_sessions(app, public_url="http://127.0.0.1:8000")
    assert app.config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account", "/account"),
        ("//evil.test", "/d"),
        ("https://evil.test", "/d"),
        ("/\\evil", "/d"),
        (None, "/d"),
        ("/x\r\nSet-Cookie: a=b", "/d"),
    ],
)
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target, "/d") == expected
