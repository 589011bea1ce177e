"""The `omniops` command line. Every command has `--help`; commands appear only once they work."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gateway.logs import configure_logging
from gateway.settings import Settings

log = logging.getLogger("omniops.cli")
Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    return Settings(**overrides)


def cmd_run(args: argparse.Namespace) -> int:
    """Embedded mode: the gateway and worker threads in this one process (with --demo, the sandbox too)."""
    from executor.worker import start_in_process
    from gateway.app import create_app
    from gateway.bootstrap import build_container
    from gateway.retention import RetentionThread
    from gateway.serve import BackgroundServer

    settings = _settings(args)
    demo = None
    if args.demo:
        from gateway.demo import start_demo

        demo = start_demo(settings)
        settings = demo.settings
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    container = build_container(settings, demo=demo is not None)
    lines: list[str] = []
    if demo is not None:
        from gateway.demo import DEMO_OWNER_PHONE, demo_lines
        from gateway.identity.cli import seed_demo_owner

        seed = seed_demo_owner(container.owners, phone=DEMO_OWNER_PHONE)
        container.demo_owner_id = seed.owner_id
        lines = demo_lines(demo, seed_lines=seed.lines(public_url=settings.public_url), public_url=settings.public_url)
    worker = start_in_process(container.executor, concurrency=settings.worker_threads)
    pruner = RetentionThread(container.retention, interval=settings.retention_interval_seconds).start()
    app = create_app(container=container)
    server = BackgroundServer(app, host=settings.host, port=settings.port).start()
    print(f"OmniOps gateway running at {server.url}  (health: {server.url}/healthz)", flush=True)
    for line in lines:
        print(line, flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    _wait_for_signal()
    server.stop()
    pruner.stop()
    worker.stop()
    container.close()
    if demo is not None:
        demo.sandbox.stop()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Distributed mode: the gateway under gunicorn (workers and threads per the flags)."""
    from gateway.serve import serve_gunicorn

    settings = _settings(args)
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    serve_gunicorn(bind=f"{settings.host}:{settings.port}", workers=args.workers, threads=args.threads)
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omniops",
        description="OmniOps assistant gateway: voice and chat commands to consented, audited store setups.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run the gateway and worker in one process (embedded default)", description=cmd_run.__doc__
    )
    run.add_argument("--host", help="interface to bind (default 127.0.0.1, or OMNIOPS_HOST)")
    run.add_argument("--port", type=int, help="port (default 8080, or OMNIOPS_PORT; 0 picks a free one)")
    run.add_argument(
        "--demo",
        action="store_true",
        help="also serve the sandbox providers and seed a demo owner (prints how to try it)",
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser(
        "serve", help="serve the gateway with gunicorn (distributed mode)", description=cmd_serve.__doc__
    )
    serve.add_argument("--host", help="interface to bind (default OMNIOPS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default OMNIOPS_PORT or 8080)")
    serve.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    serve.add_argument("--threads", type=int, default=8, help="threads per worker (default 8)")
    serve.set_defaults(func=cmd_serve)

    from chat.nlu import register_cli as register_parse_cli
    from executor.worker import register_cli as register_worker_cli
    from gateway.identity.cli import register_cli as register_owners_cli
    from gateway.oauth.cli import register_cli as register_oauth_cli
    from gateway.retention import register_cli as register_prune_cli
    from gateway.widget_sessions import register_cli as register_widget_cli
    from sandbox.server import register_cli as register_sandbox_cli
    from vault.cli import register_cli as register_vault_cli
    from voice.manifests import register_cli as register_manifests_cli

    register_worker_cli(sub, lambda: _container().executor)
    register_parse_cli(sub)
    register_manifests_cli(sub)
    register_owners_cli(sub, lambda _args: _container())
    register_oauth_cli(sub, lambda _args: _container())
    register_widget_cli(sub, _container)
    register_prune_cli(sub, _container)
    register_vault_cli(sub, lambda: _container().vault_services)
    register_sandbox_cli(sub)
    return parser


def _container() -> Any:
    from gateway.bootstrap import build_container

    settings = Settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    return build_container(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `omniops` console script."""
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
