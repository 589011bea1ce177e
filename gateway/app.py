"""The Flask application factory: `create_app(settings=None)`.

The factory builds (or receives) the `Container` from `gateway.bootstrap`, installs request ids, metrics,
the body-size limit and the problem+json boundary, and registers one blueprint per concern. Nothing is built
at import time.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from core.errors import PayloadTooLarge
from gateway import errors
from gateway.bootstrap import Container, build_container
from gateway.logs import request_id_var
from gateway.settings import Settings
from gateway.web import configure_sessions, init_web

log = logging.getLogger("omniops.http")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> Flask:
    """Build the gateway app. Tests pass ``settings`` (or a ready ``container``); production reads the env."""
    container = container or build_container(settings or Settings())
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=container.settings.max_body_bytes,
        SECRET_KEY=container.secret_key,
        JSON_SORT_KEYS=False,
    )
    configure_sessions(app, public_url=container.settings.public_url)
    app.extensions["omniops"] = container
    _install_request_hooks(app, container)
    errors.init_app(app)
    init_web(app)
    for blueprint in container.blueprints():
        app.register_blueprint(blueprint)
    return app


def _install_request_hooks(app: Flask, container: Container) -> None:
    metrics = container.metrics

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if _SAFE_REQUEST_ID.match(incoming) else secrets.token_hex(8)
        g.request_id = rid
        g.request_id_token = request_id_var.set(rid)
        g.started = time.perf_counter()
        limit = app.config["MAX_CONTENT_LENGTH"]
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"Request bodies are limited to {limit} bytes.")

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.inc(
            "omniops_http_requests_total",
            "HTTP requests by route, method and status",
            route=route,
            method=request.method,
            status=str(response.status_code),
        )
        metrics.observe("omniops_http_request_seconds", "HTTP request latency", elapsed, route=route)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 2),
            },
        )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
