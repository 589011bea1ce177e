"""The baseline of the load benchmark: a bare Flask app returning a constant, under the same gunicorn settings
as ``omniops serve`` (``gateway.serve.serve_gunicorn``: gthread workers, the same timeout and graceful timeout).

Run: ``python -m benchmarks.bare_gunicorn --port P --workers W --threads T``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flask import Flask


def bare_app() -> Flask:
    """``GET /`` → a constant JSON body; ``GET /healthz`` → ok."""
    app = Flask("bare")

    @app.get("/")
    def constant() -> dict[str, Any]:
        return {"ok": True, "speech": "Hello from the bare endpoint."}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> int:
    """Serve the bare app with gunicorn, options mirroring ``serve_gunicorn``."""
    from gunicorn.app.base import BaseApplication

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_gunicorn")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{args.port}",
                "workers": args.workers,
                "threads": args.threads,
                "timeout": 30,
                "worker_class": "gthread",
                "accesslog": None,
                "graceful_timeout": 10,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return bare_app()

    _App().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
