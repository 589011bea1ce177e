"""Serve every simulator on loopback: ``start_sandbox()`` for tests and the demo, ``main()`` for the CLI.

One HTTP server (werkzeug, threaded) with a path prefix per provider::

    {base}/woocommerce/stores/<slug>   WooCommerce stores (demo, empty, big, plain)
    {base}/stripe                      Stripe API + Connect OAuth (api and connect base)
    {base}/twilio                      Twilio REST (SDK: client.api.base_url = url)
    {base}/alexa                       LWA token endpoint + Alexa service APIs (apiEndpoint)
    {base}/__sandbox/faults            POST a fault spec (see Faults.apply), GET the queued ones
    {base}/__sandbox/counters          GET side-effect counters
    {base}/__sandbox/phone?to=+1555…   GET the texts a phone received (every text without ``to``)
    {base}/__sandbox/reset             POST: drop faults, zero counters
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox._http import Request, Response, StartResponse, WSGIApp, WSGIEnv, json_response
from sandbox.alexa_api import AlexaState, create_alexa_app
from sandbox.faults import PROVIDERS, Faults
from sandbox.stripe import StripeState, create_stripe_app
from sandbox.twilio import TwilioState, create_twilio_app
from sandbox.woocommerce import WooState, create_woocommerce_app

__all__ = ["Sandbox", "build_app", "main", "register_cli", "start_sandbox"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log (tokens travel in query strings of some simulated APIs)."""


class Sandbox:
    """The running simulators: states, fault API, base URLs."""

    def __init__(self, *, seed: int = 0) -> None:
        self.faults = Faults(seed=seed)
        self.woo = WooState(seed=seed, faults=self.faults)
        self.stripe = StripeState(seed=seed, faults=self.faults)
        self.twilio = TwilioState(seed=seed, faults=self.faults)
        self.alexa = AlexaState(seed=seed, faults=self.faults)
        self.base_url = ""
        self.urls: dict[str, str] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def counters(self) -> dict[str, int]:
        """Side-effect counters (keys created, charges, refunds, webhooks, messages...)."""
        return self.faults.counters()

    def reset(self) -> None:
        """Drop every fault and zero the counters."""
        self.faults.reset()

    def describe(self) -> dict[str, Any]:
        """The JSON printed by ``omniops sandbox --json``."""
        return {
            **self.urls,
            "admin": f"{self.base_url}/__sandbox",
            "stores": self.woo.describe(),
            "stripe_credentials": {
                "secret_key": self.stripe.secret_key,
                "publishable_key": self.stripe.publishable_key,
                "client_id": self.stripe.client_id,
            },
            "twilio_credentials": {
                "account_sid": self.twilio.account.sid,
                "auth_token": self.twilio.account.auth_token,
                "from_numbers": self.twilio.account.numbers,
                "test_account_sid": self.twilio.test_account.sid,
                "test_auth_token": self.twilio.test_account.auth_token,
            },
            "alexa_credentials": {"client_id": self.alexa.client_id, "client_secret": self.alexa.client_secret},
        }

    def stop(self) -> None:
        """Stop serving and wait for pending webhook deliveries briefly."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _admin_app(sandbox: Sandbox) -> WSGIApp:
    def app(environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        return _admin(sandbox, request)(environ, start_response)

    return app


def _admin(sandbox: Sandbox, request: Request) -> Response:
    path = request.path.rstrip("/")
    if path == "/faults" and request.method == "POST":
        spec = request.get_json(silent=True)
        specs = spec if isinstance(spec, list) else [spec]
        try:
            for s in specs:
                if not isinstance(s, dict):
                    raise ValueError("a fault spec is a JSON object")
                if s.get("provider", "*") not in (*PROVIDERS, "*"):
                    raise ValueError(f"unknown provider {s.get('provider')!r}")
                sandbox.faults.apply(s)
        except (ValueError, KeyError, TypeError) as err:
            return json_response({"error": str(err)}, 400)
        return json_response({"pending": sandbox.faults.pending()}, 201)
    if path == "/faults" and request.method == "GET":
        return json_response({"pending": sandbox.faults.pending()})
    if path == "/faults" and request.method == "DELETE":
        sandbox.faults.clear()
        return json_response({"pending": []})
    if path == "/counters" and request.method == "GET":
        return json_response(sandbox.counters())
    if path == "/phone" and request.method == "GET":  # the texts a phone received (demo: the owner's phone)
        to = request.args.get("to", "")
        messages = sandbox.twilio.messages_to(to) if to else sandbox.twilio.all_messages()
        return json_response(
            {
                "messages": [
                    {"to": m["to"], "from": m["from"], "body": m["body"], "date_created": m.get("date_created")}
                    for m in messages
                ]
            }
        )
    if path == "/reset" and request.method == "POST":
        sandbox.reset()
        return json_response({"reset": True})
    return json_response({"error": "not found"}, 404)


def build_app(sandbox: Sandbox) -> WSGIApp:
    """One WSGI app mounting every simulator under its prefix, plus the admin endpoints."""

    def index(environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        return json_response(sandbox.urls, 200 if environ.get("PATH_INFO", "/") in ("", "/") else 404)(
            environ, start_response
        )

    return DispatcherMiddleware(
        index,
        {
            "/woocommerce": create_woocommerce_app(sandbox.woo),
            "/stripe": create_stripe_app(sandbox.stripe),
            "/twilio": create_twilio_app(sandbox.twilio),
            "/alexa": create_alexa_app(sandbox.alexa),
            "/__sandbox": _admin_app(sandbox),
        },
    )


def start_sandbox(host: str = "127.0.0.1", port: int = 0, *, seed: int = 0, latency: float = 0.0) -> Sandbox:
    """Start every simulator on ``host:port`` (0 = a free port) in a background thread."""
    sandbox = Sandbox(seed=seed)
    if latency:
        sandbox.faults.set_latency("*", fixed=latency)
    server = make_server(host, port, build_app(sandbox), threaded=True, request_handler=_QuietHandler)
    base = f"http://{host}:{server.port}"
    sandbox.base_url = base
    sandbox.urls = {name: f"{base}/{name}" for name in PROVIDERS}
    sandbox.woo.set_base_url(sandbox.urls["woocommerce"])
    sandbox._server = server
    sandbox._thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="omniops-sandbox", daemon=True
    )
    sandbox._thread.start()
    return sandbox


def _parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the deterministic data (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with URLs, stores and keys")
    return parser


def run_cli(args: argparse.Namespace, *, block: bool = True) -> int:
    """Run ``omniops sandbox`` from parsed arguments; blocks until interrupted when ``block``."""
    sandbox = start_sandbox(args.host, args.port, seed=args.seed)
    if args.json:
        print(json.dumps(sandbox.describe(), indent=2), flush=True)
    else:
        for name, url in sandbox.urls.items():
            print(f"{name:12} {url}")
        for store in sandbox.woo.describe():
            print(
                f"store {store['slug']:7} {store['url']}  admin {store['admin']['login']}/{store['admin']['password']}"
            )
        print(f"admin        {sandbox.base_url}/__sandbox", flush=True)
    if not block:
        sandbox.stop()
        return 0
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def register_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sandbox`` to an ``argparse`` subparsers object; the command calls ``args.func(args)``."""
    parser: argparse.ArgumentParser = subparsers.add_parser("sandbox", help="serve the provider simulators on loopback")
    _parser(parser)
    parser.set_defaults(func=run_cli)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``omniops sandbox [--json] [--port N] [--seed N]``."""
    args = _parser(argparse.ArgumentParser(prog="omniops sandbox")).parse_args(argv)
    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
