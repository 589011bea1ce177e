"""`omniops oauth client …`: register, list and disable account-linking clients (Alexa, Google).

Wiring (in ``gateway/cli.py``)::

    from gateway.oauth.cli import register_cli as register_oauth_cli
    register_oauth_cli(subparsers, build_services)   # build_services(args) -> object with ``oauth``

Every handler returns an exit code: 0 done, 1 refused (the reason on stderr). The client secret is printed
once, at registration; only its hash is stored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from core.errors import OmniOpsError
from gateway.oauth.records import SCOPES, ClientRecord
from gateway.oauth.server import OAuthService

BuildServices = Callable[[argparse.Namespace], Any]
AGENT = "operator:cli"


def register_cli(subparsers: Any, build_services: BuildServices) -> None:
    """Add ``oauth`` and its sub-commands to an ``argparse`` sub-parser collection."""
    top = subparsers.add_parser("oauth", help="account linking: OAuth clients for Alexa and Google")
    sub = top.add_subparsers(dest="oauth_command", required=True, metavar="COMMAND")
    client = sub.add_parser("client", help="registered clients").add_subparsers(dest="client_command", required=True)

    def cmd(parser: argparse.ArgumentParser, fn: Callable[[OAuthService, argparse.Namespace, TextIO], int]) -> None:
        parser.set_defaults(func=lambda args: _run(fn, build_services, args))

    p = client.add_parser("add", help="register a client; prints its id and secret once")
    p.add_argument("--name", required=True, help="shown on the grant page, e.g. 'Alexa'")
    p.add_argument(
        "--redirect-uri",
        action="append",
        required=True,
        dest="redirect_uris",
        help="exact redirect URI (repeatable), e.g. https://pitangui.amazon.com/api/skill/link/XXXX",
    )
    p.add_argument("--scope", action="append", choices=sorted(SCOPES), help="repeatable (default: voice)")
    p.add_argument(
        "--no-pkce",
        action="store_true",
        help="accept authorization requests without PKCE from this (confidential) client, for platforms that "
        "cannot send it; PKCE it does send is still enforced and 'plain' still refused",
    )
    p.add_argument("--json", action="store_true")
    cmd(p, _add)

    p = client.add_parser("list", help="list clients (never secrets)")
    p.add_argument("--json", action="store_true")
    cmd(p, _list)

    p = client.add_parser("disable", help="disable a client and revoke every link it holds")
    p.add_argument("client_id")
    cmd(p, _disable)


def _run(
    fn: Callable[[OAuthService, argparse.Namespace, TextIO], int],
    build_services: BuildServices,
    args: argparse.Namespace,
) -> int:
    services = build_services(args)
    try:
        return fn(services.oauth, args, sys.stdout)
    except OmniOpsError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 1
    finally:
        close = getattr(services, "close", None)
        if callable(close):
            close()


def _as_dict(c: ClientRecord) -> dict[str, Any]:
    return {
        "client_id": c.id,
        "name": c.name,
        "redirect_uris": list(c.redirect_uris),
        "scopes": list(c.scopes),
        "created_at": c.created_at.isoformat(),
        "disabled_at": c.disabled_at.isoformat() if c.disabled_at else None,
        "pkce_required": c.pkce_required,
    }


def _add(service: OAuthService, args: argparse.Namespace, out: TextIO) -> int:
    new = service.store.add_client(
        name=args.name,
        redirect_uris=args.redirect_uris,
        scopes=args.scope or ["voice"],
        pkce_required=not args.no_pkce,
        agent=AGENT,
    )
    if args.json:
        print(json.dumps({**_as_dict(new.record), "client_secret": new.secret}, indent=2), file=out)
        return 0
    print(f"client {new.record.name}", file=out)
    print(f"  client_id:     {new.record.id}", file=out)
    print(f"  client_secret: {new.secret}   (shown once: store it in the Alexa/Google console now)", file=out)
    pkce = "required (S256)" if new.record.pkce_required else "optional (enforced when sent)"
    print(f"  pkce:          {pkce}", file=out)
    for uri in new.record.redirect_uris:
        print(f"  redirect_uri:  {uri}", file=out)
    return 0


def _list(service: OAuthService, args: argparse.Namespace, out: TextIO) -> int:
    clients = service.store.list_clients()
    if args.json:
        print(json.dumps([_as_dict(c) for c in clients], indent=2), file=out)
        return 0
    for c in clients:
        state = "active" if c.active else "disabled"
        pkce = "" if c.pkce_required else "  (pkce optional)"
        print(f"{c.id}  {state}  {c.name}  {' '.join(c.redirect_uris)}{pkce}", file=out)
    if not clients:
        print("no clients yet: omniops oauth client add --name Alexa --redirect-uri https://…", file=out)
    return 0


def _disable(service: OAuthService, args: argparse.Namespace, out: TextIO) -> int:
    c = service.store.disable_client(args.client_id, agent=AGENT)
    print(f"client {c.id} disabled; its links are revoked", file=out)
    return 0
