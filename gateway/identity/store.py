"""`SqlOwners`: the owner model in SQL (SQLite or PostgreSQL) — implements `core.ports.Owners` and much more.

One object, composed of three books that share one set of dependencies: :class:`PhoneBook` (phones),
:class:`TokenBook` (owner API tokens) and :class:`Logins` (passwords, SMS codes, sessions). The methods named
in the contract are available directly on `SqlOwners`; the books are public for everything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.commands import Principal
from core.errors import Conflict, InputError, NotFound
from core.ports import Addon, AuditLog, Clock, Ids, Owner, Plan
from gateway.identity import schema
from gateway.identity.base import Deps, SendSms, utc
from gateway.identity.logins import Logins, normalize_email, row_to_person
from gateway.identity.passwords import Passwords
from gateway.identity.phones import PhoneBook, normalize_phone
from gateway.identity.plans import parse_addons
from gateway.identity.records import IdentityPolicy, IssuedToken, OwnerDetails, Person, PhoneRecord, Role, TokenRecord
from gateway.identity.tokens import TokenBook

_LOCALE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")


class SqlOwners:
    """Owners, their people, phones, tokens and plans, with every identity change audited."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        ids: Ids,
        audit: AuditLog,
        *,
        send_sms: SendSms | None = None,
        passwords: Passwords | None = None,
        policy: IdentityPolicy | None = None,
    ) -> None:
        self._d = Deps(
            engine=engine,
            clock=clock,
            ids=ids,
            audit=audit,
            passwords=passwords or Passwords(),
            policy=policy or IdentityPolicy(),
            send_sms=send_sms,
        )
        self.phones = PhoneBook(self._d)
        self.tokens = TokenBook(self._d)
        self.logins = Logins(self._d)

    def __repr__(self) -> str:
        return f"SqlOwners({self._d.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def policy(self) -> IdentityPolicy:
        return self._d.policy

    # ------------------------------------------------------------------------------------ core.ports.Owners
    def get(self, owner_id: str) -> Owner | None:
        """The owner, with verified phones and people's e-mail addresses; None if unknown."""
        with self._d.engine.connect() as conn:
            row = conn.execute(sa.select(schema.owners).where(schema.owners.c.id == owner_id)).first()
            return None if row is None else self._owner(conn, row)

    def by_verified_phone(self, phone: str) -> Owner | None:
        """The owner who verified ``phone`` (any common spelling), or None."""
        try:
            number = normalize_phone(phone)
        except InputError:
            return None
        owner_id = self.phones.owner_of_verified(number)
        return None if owner_id is None else self.get(owner_id)

    # ------------------------------------------------------------------------------------ owners
    def create_owner(
        self,
        *,
        name: str,
        plan: Plan | str = Plan.MANUAL,
        locale: str = "en-US",
        timezone: str = "UTC",
        addons: Iterable[str] = (),
        agent: str = "operator",
    ) -> Owner:
        """Create a business. Validates the plan, locale (``en-US``) and IANA timezone."""
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise InputError("An owner needs a name of at most 200 characters.")
        plan = _plan(plan)
        addon_set = parse_addons(addons)
        _check_locale(locale)
        _check_timezone(timezone)
        owner_id = self._d.ids.new_id("own")
        now = self._d.now()
        with self._d.engine.begin() as conn:
            conn.execute(
                schema.owners.insert().values(
                    id=owner_id,
                    name=name,
                    plan=plan.value,
                    addons=" ".join(a.value for a in addon_set),
                    locale=locale,
                    timezone=timezone,
                    created_at=now,
                    updated_at=now,
                )
            )
        self._d.record("owner_created", owner_id=owner_id, agent=agent, plan=plan.value)
        owner = self.get(owner_id)
        assert owner is not None
        return owner

    def list_owners(self) -> list[Owner]:
        with self._d.engine.connect() as conn:
            rows = conn.execute(sa.select(schema.owners).order_by(schema.owners.c.created_at, schema.owners.c.id)).all()
            return [self._owner(conn, r) for r in rows]

    def show(self, owner_id: str) -> OwnerDetails:
        """Everything about one owner (no secrets): people, phones, tokens."""
        owner = self.get(owner_id)
        if owner is None:
            raise NotFound("No such owner.")
        with self._d.engine.connect() as conn:
            created = conn.execute(
                sa.select(schema.owners.c.created_at).where(schema.owners.c.id == owner_id)
            ).scalar_one()
        return OwnerDetails(
            owner=owner,
            people=tuple(self.people(owner_id)),
            phones=tuple(self.phones.list(owner_id)),
            tokens=tuple(self.tokens.list(owner_id)),
            created_at=utc(created),
        )

    def set_plan(
        self, owner_id: str, plan: Plan | str, *, addons: Iterable[str] | None = None, agent: str = "operator"
    ) -> Owner:
        """Change the plan (and, when given, the add-ons). Audited with the before and after."""
        before = self.get(owner_id)
        if before is None:
            raise NotFound("No such owner.")
        plan = _plan(plan)
        addon_set = before.addons if addons is None else parse_addons(addons)
        with self._d.engine.begin() as conn:
            conn.execute(
                schema.owners.update()
                .where(schema.owners.c.id == owner_id)
                .values(plan=plan.value, addons=" ".join(a.value for a in addon_set), updated_at=self._d.now())
            )
        self._d.record(
            "plan_changed",
            owner_id=owner_id,
            agent=agent,
            plan_before=before.plan.value,
            plan=plan.value,
            addons_before=[a.value for a in before.addons],
            addons=[a.value for a in addon_set],
        )
        after = self.get(owner_id)
        assert after is not None
        return after

    # ------------------------------------------------------------------------------------ people
    def add_person(
        self,
        owner_id: str,
        *,
        name: str,
        email: str,
        role: Role | str = Role.OWNER,
        password: str | None = None,
        agent: str = "operator",
    ) -> Person:
        """Add a person (role ``owner`` or ``staff``) who can log in; e-mail addresses are unique."""
        name = " ".join(name.split())
        if not name or len(name) > 200:
            raise InputError("A person needs a name of at most 200 characters.")
        email = normalize_email(email)
        try:
            role = Role(role)
        except ValueError:
            raise InputError("The role is 'owner' or 'staff'.") from None
        password_hash = None
        if password is not None:
            try:
                password_hash = self._d.passwords.hash(password)
            except ValueError as err:
                raise InputError(str(err).capitalize() + ".") from None
        person_id = self._d.ids.new_id("per")
        try:
            with self._d.engine.begin() as conn:
                if conn.execute(sa.select(schema.owners.c.id).where(schema.owners.c.id == owner_id)).first() is None:
                    raise NotFound("No such owner.")
                conn.execute(
                    schema.people.insert().values(
                        id=person_id,
                        owner_id=owner_id,
                        name=name,
                        email=email,
                        role=role.value,
                        password_hash=password_hash,
                        failed_logins=0,
                        created_at=self._d.now(),
                    )
                )
        except IntegrityError as err:
            raise Conflict("A person with this e-mail address already exists.") from err
        self._d.record("person_added", owner_id=owner_id, agent=agent, person_id=person_id, role=role.value)
        person = self.logins.get_person(person_id)
        assert person is not None
        return person

    def set_password(self, person_id: str, password: str, *, agent: str = "operator") -> None:
        """Set a new password; ends the person's lockout and every session they had."""
        try:
            password_hash = self._d.passwords.hash(password)
        except ValueError as err:
            raise InputError(str(err).capitalize() + ".") from None
        person = self.get_person(person_id)
        if person is None:
            raise NotFound("No such person.")
        now = self._d.now()
        with self._d.engine.begin() as conn:
            conn.execute(
                schema.people.update()
                .where(schema.people.c.id == person_id)
                .values(password_hash=password_hash, failed_logins=0, locked_until=None)
            )
            conn.execute(
                schema.sessions.update()
                .where(schema.sessions.c.person_id == person_id, schema.sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            )
        self._d.record("password_set", owner_id=person.owner_id, agent=agent, person_id=person_id)

    def get_person(self, person_id: str) -> Person | None:
        return self.logins.get_person(person_id)

    def person_by_email(self, email: str) -> Person | None:
        try:
            email = normalize_email(email)
        except InputError:
            return None
        with self._d.engine.connect() as conn:
            row = conn.execute(sa.select(schema.people).where(schema.people.c.email == email)).first()
        return None if row is None else row_to_person(row)

    def people(self, owner_id: str) -> list[Person]:
        t = schema.people
        with self._d.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.owner_id == owner_id).order_by(t.c.created_at, t.c.id)).all()
        return [row_to_person(r) for r in rows]

    # ------------------------------------------------------------------------------------ phones (delegates)
    def add_phone(
        self, owner_id: str, number: str, *, person_id: str | None = None, agent: str = "operator"
    ) -> PhoneRecord:
        """Add an unverified phone (``Conflict`` if another owner verified it)."""
        return self.phones.add(owner_id, number, person_id=person_id, agent=agent)

    def start_phone_verification(
        self, owner_id: str, phone_id: str, *, agent: str = "operator", ip: str | None = None
    ) -> PhoneRecord:
        """Text a 6-digit code through the injected ``send_sms``."""
        return self.phones.start_verification(owner_id, phone_id, agent=agent, ip=ip)

    def verify_phone(
        self, owner_id: str, phone_id: str, code: str, *, agent: str = "operator", ip: str | None = None
    ) -> PhoneRecord:
        """Check the code and claim the number for the owner."""
        return self.phones.verify(owner_id, phone_id, code, agent=agent, ip=ip)

    # ------------------------------------------------------------------------------------ tokens (delegates)
    def create_token(
        self, owner_id: str, *, name: str, scopes: Iterable[str], person_id: str | None = None, agent: str = "operator"
    ) -> IssuedToken:
        """Issue a scoped owner API token; its raw value is returned once and never stored."""
        return self.tokens.create(owner_id, name=name, scopes=scopes, person_id=person_id, agent=agent)

    def list_tokens(self, owner_id: str) -> list[TokenRecord]:
        return self.tokens.list(owner_id)

    def revoke_token(self, owner_id: str, token_id: str, *, agent: str = "operator") -> TokenRecord:
        return self.tokens.revoke(owner_id, token_id, agent=agent)

    def resolve_token(self, raw: str, scope: str) -> Principal:
        """Bearer token → ``Principal`` (``AuthLevel.TOKEN``); ``AuthenticationRequired`` if unknown or revoked."""
        return self.tokens.resolve(raw, scope)

    # ------------------------------------------------------------------------------------ helpers
    def _owner(self, conn: Any, row: Any) -> Owner:
        phones = conn.execute(
            sa.select(schema.phones.c.verified_number)
            .where(schema.phones.c.owner_id == row.id, schema.phones.c.verified_number.is_not(None))
            .order_by(schema.phones.c.verified_at, schema.phones.c.id)
        ).scalars()
        emails = conn.execute(
            sa.select(schema.people.c.email)
            .where(schema.people.c.owner_id == row.id)
            .order_by(schema.people.c.created_at, schema.people.c.id)
        ).scalars()
        return Owner(
            id=row.id,
            name=row.name,
            plan=Plan(row.plan),
            addons=tuple(Addon(a) for a in row.addons.split()),
            locale=row.locale,
            timezone=row.timezone,
            verified_phones=tuple(phones),
            emails=tuple(emails),
        )


def _plan(value: Plan | str) -> Plan:
    try:
        return Plan(value)
    except ValueError:
        raise InputError(f"Unknown plan {value!r}; plans are: {', '.join(p.value for p in Plan)}.") from None


def _check_locale(locale: str) -> None:
    if not _LOCALE.match(locale):
        raise InputError("A locale looks like 'en-US'.")


def _check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"Unknown timezone {timezone!r}; use an IANA name such as 'America/New_York'.") from None
