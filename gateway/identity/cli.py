"""`omniops owners …`: create/list/show owners, phones, tokens and plans from the command line; demo seeding.

Wiring (in ``gateway/cli.py``)::

    from gateway.identity.cli import register_cli
    register_cli(subparsers, build_services)   # build_services(args) -> object with ``owners`` (``close()`` optional)
    ...
    args = parser.parse_args(argv); return args.func(args)

Every handler returns an exit code: 0 done, 1 refused (the reason on stderr, never a secret).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from core.errors import OmniOpsError
from core.ports import Addon, Plan
from gateway.identity.records import OwnerDetails, Role, Scope
from gateway.identity.store import SqlOwners

BuildServices = Callable[[argparse.Namespace], Any]
AGENT = "operator:cli"


def register_cli(subparsers: Any, build_services: BuildServices) -> None:
    """Add ``owners`` and its sub-commands to an ``argparse`` sub-parser collection."""
    owners = subparsers.add_parser("owners", help="manage owners, people, phones, API tokens and plans")
    sub = owners.add_subparsers(dest="owners_command", required=True, metavar="COMMAND")

    def cmd(parser: argparse.ArgumentParser, fn: Callable[[SqlOwners, argparse.Namespace, TextIO], int]) -> None:
        parser.set_defaults(func=lambda args: _run(fn, build_services, args))

    p = sub.add_parser("create", help="create an owner (a business), optionally with its first person")
    p.add_argument("--name", required=True, help="business name")
    p.add_argument("--plan", choices=[x.value for x in Plan], default=Plan.MANUAL.value)
    p.add_argument("--addon", action="append", default=[], choices=[x.value for x in Addon], help="repeatable")
    p.add_argument("--locale", default="en-US")
    p.add_argument("--timezone", default="UTC", help="IANA name, e.g. America/New_York")
    p.add_argument("--email", help="also add a person with this e-mail (role owner) who can sign in")
    p.add_argument("--person-name", help="the person's name (default: the business name)")
    p.add_argument("--password-stdin", action="store_true", help="read the person's password from stdin")
    cmd(p, _create)

    p = sub.add_parser("list", help="list owners")
    p.add_argument("--json", action="store_true")
    cmd(p, _list)

    p = sub.add_parser("show", help="show one owner: people, phones, tokens (never secrets)")
    p.add_argument("owner_id")
    p.add_argument("--json", action="store_true")
    cmd(p, _show)

    person = sub.add_parser("person", help="people who sign in").add_subparsers(dest="person_command", required=True)
    p = person.add_parser("add", help="add a person to an owner")
    p.add_argument("owner_id")
    p.add_argument("--name", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--role", choices=[r.value for r in Role], default=Role.OWNER.value)
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else one is generated)")
    cmd(p, _person_add)

    phone = sub.add_parser("phone", help="phone numbers").add_subparsers(dest="phone_command", required=True)
    p = phone.add_parser("add", help="add a phone and text it a verification code")
    p.add_argument("owner_id")
    p.add_argument("number", help="E.164, e.g. +15551234567")
    p.add_argument("--no-send", action="store_true", help="add only; send the code later with 'phone add' again")
    cmd(p, _phone_add)
    p = phone.add_parser("verify", help="verify a phone with the code it received")
    p.add_argument("owner_id")
    p.add_argument("phone_id")
    p.add_argument("code")
    cmd(p, _phone_verify)

    token = sub.add_parser("token", help="owner API tokens").add_subparsers(dest="token_command", required=True)
    p = token.add_parser("create", help="create a token (printed once)")
    p.add_argument("owner_id")
    p.add_argument("--name", required=True)
    p.add_argument("--scope", action="append", choices=[s.value for s in Scope], help="repeatable (default: siri)")
    cmd(p, _token_create)
    p = token.add_parser("list", help="list tokens (names, scopes, last use; never the token)")
    p.add_argument("owner_id")
    cmd(p, _token_list)
    p = token.add_parser("revoke", help="revoke a token")
    p.add_argument("owner_id")
    p.add_argument("token_id")
    cmd(p, _token_revoke)

    plan = sub.add_parser("plan", help="plans and add-ons").add_subparsers(dest="plan_command", required=True)
    p = plan.add_parser("set", help="set the plan (and add-ons)")
    p.add_argument("owner_id")
    p.add_argument("plan", choices=[x.value for x in Plan])
    p.add_argument("--addon", action="append", choices=[x.value for x in Addon], help="repeatable; replaces add-ons")
    p.add_argument("--no-addons", action="store_true", help="remove every add-on")
    cmd(p, _plan_set)


def _run(
    fn: Callable[[SqlOwners, argparse.Namespace, TextIO], int], build_services: BuildServices, args: argparse.Namespace
) -> int:
    services = build_services(args)
    try:
        return fn(services.owners, args, sys.stdout)
    except OmniOpsError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 1
    finally:
        close = getattr(services, "close", None)
        if callable(close):
            close()


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated?)"""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return secrets.token_urlsafe(12), True


def _create(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    owner = store.create_owner(
        name=args.name, plan=args.plan, addons=args.addon, locale=args.locale, timezone=args.timezone, agent=AGENT
    )
    print(f"owner {owner.id}  {owner.name}  plan={owner.plan.value}", file=out)
    if args.email:
        password, generated = _password(args)
        person = store.add_person(
            owner.id, name=args.person_name or args.name, email=args.email, password=password, agent=AGENT
        )
        print(f"person {person.id}  {person.email}  role={person.role.value}", file=out)
        if generated:
            print(f"password (shown once): {password}", file=out)
    return 0


def _list(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    found = store.list_owners()
    if args.json:
        print(json.dumps([o.model_dump(mode="json") for o in found], indent=2), file=out)
        return 0
    for o in found:
        addons = f" +{','.join(a.value for a in o.addons)}" if o.addons else ""
        print(f"{o.id}  {o.plan.value}{addons}  {o.name}", file=out)
    if not found:
        print("no owners yet: omniops owners create --name 'My Store'", file=out)
    return 0


def _show(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    details = store.show(args.owner_id)
    if args.json:
        print(details.model_dump_json(indent=2), file=out)
        return 0
    print(_describe(details), file=out)
    return 0


def _describe(d: OwnerDetails) -> str:
    o = d.owner
    lines = [
        f"{o.name} ({o.id})",
        f"  plan: {o.plan.value}" + (f" + {', '.join(a.value for a in o.addons)}" if o.addons else ""),
        f"  locale: {o.locale}  timezone: {o.timezone}",
        "  people:",
    ]
    lines += [f"    {p.id}  {p.email}  {p.role.value}" for p in d.people] or ["    (none)"]
    lines.append("  phones:")
    lines += [f"    {p.id}  {p.number}  {'verified' if p.verified else 'unverified'}" for p in d.phones] or [
        "    (none)"
    ]
    lines.append("  tokens:")
    lines += [_token_line(t) for t in d.tokens] or ["    (none)"]
    return "\n".join(lines)


def _token_line(t: Any) -> str:
    state = (
        "revoked" if t.revoked_at else f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
    )
    return f"    {t.id}  {t.name!r}  {t.prefix}…  scopes={','.join(t.scopes)}  {state}"


def _person_add(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    password, generated = _password(args)
    person = store.add_person(
        args.owner_id, name=args.name, email=args.email, role=args.role, password=password, agent=AGENT
    )
    print(f"person {person.id}  {person.email}  role={person.role.value}", file=out)
    if generated:
        print(f"password (shown once): {password}", file=out)
    return 0


def _phone_add(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    phone = store.add_phone(args.owner_id, args.number, agent=AGENT)
    print(f"phone {phone.id}  {phone.number}  {'verified' if phone.verified else 'unverified'}", file=out)
    if not phone.verified and not args.no_send:
        store.start_phone_verification(args.owner_id, phone.id, agent=AGENT)
        print(f"code sent; then: omniops owners phone verify {args.owner_id} {phone.id} CODE", file=out)
    return 0


def _phone_verify(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    phone = store.verify_phone(args.owner_id, args.phone_id, args.code, agent=AGENT)
    print(f"phone {phone.id}  {phone.number}  verified", file=out)
    return 0


def _token_create(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    issued = store.create_token(args.owner_id, name=args.name, scopes=args.scope or [Scope.SIRI.value], agent=AGENT)
    print(f"token {issued.record.id}  {issued.record.name!r}  scopes={','.join(issued.record.scopes)}", file=out)
    print(f"secret (shown once, store it now): {issued.raw}", file=out)
    return 0


def _token_list(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    if store.get(args.owner_id) is None:
        print("error: No such owner.", file=sys.stderr)
        return 1
    tokens = store.list_tokens(args.owner_id)
    for t in tokens:
        print(_token_line(t).strip(), file=out)
    if not tokens:
        print("no tokens", file=out)
    return 0


def _token_revoke(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    t = store.revoke_token(args.owner_id, args.token_id, agent=AGENT)
    print(f"token {t.id}  {t.name!r}  revoked", file=out)
    return 0


def _plan_set(store: SqlOwners, args: argparse.Namespace, out: TextIO) -> int:
    addons = [] if args.no_addons else args.addon
    owner = store.set_plan(args.owner_id, args.plan, addons=addons, agent=AGENT)
    extra = f" + {', '.join(a.value for a in owner.addons)}" if owner.addons else ""
    print(f"owner {owner.id}  plan={owner.plan.value}{extra}", file=out)
    return 0


# ----------------------------------------------------------------------------------------------- demo
@dataclass(frozen=True)
class DemoSeed:
    owner_id: str
    email: str
    password: str
    phone: str
    siri_token: str

    def __repr__(self) -> str:
        return f"DemoSeed(owner_id={self.owner_id!r}, email={self.email!r}, phone={self.phone!r})"

    def lines(self, *, public_url: str = "http://127.0.0.1:8000") -> list[str]:
        """What ``omniops run --demo`` prints (demo credentials only — never real ones)."""
        base = public_url.rstrip("/")
        return [
            f"Demo owner {self.owner_id} (plan ai_assisted)",
            f"  sign in:    {base}/login  e-mail {self.email}  password {self.password}",
            f"  or by SMS:  {base}/login/sms  phone {self.phone} (codes go to the sandbox SMS inbox)",
            f"  Siri token: {self.siri_token}",
            f"  try:        curl -H 'Authorization: Bearer {self.siri_token}' -d '{{\"text\":\"connect stripe\"}}' "
            f"{base}/v1/channels/siri",
        ]


def seed_demo_owner(
    store: SqlOwners,
    *,
    name: str = "Demo Store",
    email: str = "demo@omniops.local",
    phone: str = "+15005550006",
    password: str | None = None,
) -> DemoSeed:
    """Create (or refresh) the demo owner: ai_assisted + custom_workflow, a person with a fresh printed
    password, a verified demo phone, and a new Siri token. Safe to run at every demo start."""
    agent = "operator:demo"
    password = password or secrets.token_urlsafe(9)
    person = store.person_by_email(email)
    if person is None:
        owner = store.create_owner(name=name, plan=Plan.AI_ASSISTED, addons=[Addon.CUSTOM_WORKFLOW.value], agent=agent)
        person = store.add_person(owner.id, name="Demo Owner", email=email, password=password, agent=agent)
    else:
        store.set_password(person.id, password, agent=agent)
    owner_id = person.owner_id
    record = store.add_phone(owner_id, phone, person_id=person.id, agent=agent)
    store.phones.mark_verified(owner_id, record.id, agent=agent)
    for old in store.list_tokens(owner_id):
        if old.name == "Demo Siri" and old.active:
            store.revoke_token(owner_id, old.id, agent=agent)
    issued = store.create_token(
        owner_id, name="Demo Siri", scopes=[Scope.SIRI.value, Scope.RUNS_READ.value], person_id=person.id, agent=agent
    )
    return DemoSeed(owner_id=owner_id, email=email, password=password, phone=record.number, siri_token=issued.raw)
