"""Widget sessions at the gateway: what the chat routes need from the container, origin checks, the CLI.

Origin rules (CORS allow-list per owner, no cookies anywhere so consent decisions are CSRF-safe):

* ``POST /v1/chat/sessions?key=<widget key>`` issues a session only when the request's ``Origin`` is one of
  the key's allowed origins; its preflight (``OPTIONS`` with the same query) is checked the same way.
* Every other chat route is authenticated by the bearer session token, which is bound to the origin it
  was issued to: a request whose ``Origin`` differs is refused with 403. Their preflights carry no token,
  so they are answered for any origin; the real request is what is checked.

CLI: ``omniops widget snippet --owner ID --origin https://shop.example [--person ID | --visitor]`` prints the
embed tag. The snippet the CLI prints for an owner counts as that owner logged in (the demo's stand-in for a
login), unless ``--visitor`` is given.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from flask import current_app

from chat.sessions import WidgetSigner, snippet
from chat.sms import SmsOptOuts
from chat.widget import ParseText
from core.errors import Forbidden
from core.messagebus import MessageBus
from core.ports import Clock, EventStream, Ids, Owners
from gateway.ratelimit import RateLimiter
from gateway.settings import Settings

ALLOW_HEADERS = "Authorization, Content-Type, Last-Event-ID, X-Request-Id"
EXPOSE_HEADERS = "Retry-After, X-Request-Id"


class ChatContainer(Protocol):
    """The container attributes the chat and SMS blueprints use (the lead adds them to `Container`)."""

    settings: Settings
    secret_key: str
    clock: Clock
    ids: Ids
    bus: MessageBus
    events: EventStream
    owners: Owners
    parse_text: ParseText
    rate_limiter: RateLimiter
    sms_opt_outs: SmsOptOuts
    demo: bool


def chat_container() -> ChatContainer:
    """The current app's container, seen through the attributes the chat routes need."""
    return cast(ChatContainer, current_app.extensions["omniops"])


def signer_for(secret_key: str) -> WidgetSigner:
    """The widget signer for the app secret (keys derived per token kind)."""
    return WidgetSigner(secret=secret_key)


def check_origin(origin: str | None, allowed: tuple[str, ...] | str, *, required: bool) -> str | None:
    """Return the origin when allowed (None when absent and not required); raise Forbidden otherwise."""
    if not origin:
        if required:
            raise Forbidden("The chat widget must be loaded from an allowed web page (no Origin header).")
        return None
    allowed_set = {allowed} if isinstance(allowed, str) else set(allowed)
    if origin.rstrip("/").lower() not in allowed_set:
        raise Forbidden("This website is not allowed to use this OmniOps chat widget.")
    return origin


# ------------------------------------------------------------------------------------------------ CLI
def register_cli(subparsers: Any, build: Callable[[], Any]) -> None:
    """Add ``omniops widget snippet``. ``build()`` returns an object with ``secret_key`` and ``settings``."""
    widget = subparsers.add_parser("widget", help="chat widget tools", description="Chat widget tools.")
    sub = widget.add_subparsers(dest="widget_command", required=True, metavar="COMMAND")
    snip = sub.add_parser(
        "snippet",
        help="print the <script> tag that embeds the chat widget for one owner",
        description="Print the embed tag for an owner. By default the sessions it opens count as the owner "
        "logged in (they can approve consent cards), so place it only behind the owner's own login (e.g. the "
        "shop's admin pages). Use --visitor for a public page: visitor sessions get no owner rights.",
    )
    snip.add_argument("--owner", required=True, help="owner id")
    snip.add_argument("--origin", required=True, action="append", help="allowed page origin (repeatable)")
    snip.add_argument("--person", help="owner person id (default: the owner id)")
    snip.add_argument("--visitor", action="store_true", help="anonymous-visitor snippet for public pages")

    def run(args: argparse.Namespace) -> int:
        container = build()
        key = signer_for(container.secret_key).issue_key(
            owner_id=args.owner,
            origins=args.origin,
            person_id=None if args.visitor else (args.person or args.owner),
            now=datetime.now(UTC),
        )
        print(snippet(public_url=container.settings.public_url, key=key))
        return 0

    snip.set_defaults(func=run)
