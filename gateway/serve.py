"""Serving: gunicorn for `omniops serve`, a threaded werkzeug server for the embedded `omniops run`."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger("omniops.serve")


def serve_gunicorn(
    *, bind: str, workers: int, threads: int, timeout: int = 30, extra: dict[str, Any] | None = None
) -> None:
    """Run the gateway under gunicorn (each worker builds its own app with `create_app()`)."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": bind,
                "workers": workers,
                "threads": threads,
                "timeout": timeout,
                "worker_class": "gthread",
                "accesslog": None,
                "graceful_timeout": 10,
                **(extra or {}),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            from gateway.app import create_app

            return create_app()

    _App().run()


class BackgroundServer:
    """A threaded werkzeug server in a daemon thread (embedded mode, demo, tests)."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"http-{self.port}", daemon=True)

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
