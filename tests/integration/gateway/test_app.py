"""The gateway skeleton over a real SQLite file: health, readiness, metrics, OpenAPI, problem+json, logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import Settings


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(Settings(var_dir=tmp_path, env="test"))
    yield app
    app.extensions["omniops"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "sqlite"


def test_readyz_reports_a_dead_redis_as_503(tmp_path: Path) -> None:
    app = create_app(Settings(var_dir=tmp_path, env="test", redis_url="redis://127.0.0.1:1/0"))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json" and "redis" in resp.json["checks"]


def test_unknown_route_is_problem_json(client: FlaskClient) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert resp.json["status"] == 404 and resp.json["request_id"] == resp.headers["X-Request-Id"]


def test_wrong_method_is_405_problem_json(client: FlaskClient) -> None:
    resp = client.post("/healthz")
    assert resp.status_code == 405 and resp.mimetype == "application/problem+json"


def test_oversized_body_is_413(client: FlaskClient) -> None:
    resp = client.post("/healthz", data=b"x" * (64 * 1024 + 1), content_type="application/json")
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"


def test_request_id_is_echoed_when_safe_and_replaced_when_not(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    assert client.get("/healthz", headers={"X-Request-Id": "<script>"}).headers["X-Request-Id"] != "<script>"


def test_openapi_covers_every_route(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (path, method)


def test_metrics_count_requests(client: FlaskClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'omniops_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "# TYPE omniops_http_request_seconds histogram" in text


def test_logs_are_json_with_request_id_and_redacted(client: FlaskClient) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_lines=True, stream=stream)
    try:
        client.get("/healthz", headers={"X-Request-Id": "rid-42"})
        logging.getLogger("omniops.test").info("key is ck_" + "a" * 40)
    finally:
        configure_logging(level="WARNING", json_lines=False)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line.get("request_id") == "rid-42" and line["msg"] == "request" for line in lines)
    assert "a" * 40 not in stream.getvalue()


def test_production_refuses_cert_mirror() -> None:
    with pytest.raises(ValueError, match="tests only"):
        Settings(
            env="production",
            public_url="https://x.example",
            secret_key="k" * 40,
            alexa_cert_mirror="http://127.0.0.1:9",
        )


def test_vault_root_key_from_the_environment_decrypts_across_restarts(tmp_path: Path) -> None:
    from gateway.bootstrap import build_container

    first = build_container(Settings(var_dir=tmp_path / "a", env="test"))
    keyset = (tmp_path / "a" / "vault-root-key.json").read_text()
    cred = first.vault_services.vault.put("own_1", "stripe", "Stripe", {"access_token": "sk_test_x"})
    first.close()
    # the same database, a machine with only the environment value: the credential still decrypts
    second = build_container(Settings(var_dir=tmp_path / "b", env="test", vault_root_key=keyset,
                                      database_url=f"sqlite:///{tmp_path / 'a' / 'omniops.db'}"))
    try:
        secret = second.vault_services.vault.get(cred.id, owner_id="own_1", run_id=None, step_id=None)
        assert secret.reveal() == {"access_token": "sk_test_x"}
        assert oct((tmp_path / "b" / "vault-root-key.json").stat().st_mode & 0o777) == "0o600"
    finally:
        second.close()
