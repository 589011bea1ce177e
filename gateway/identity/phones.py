"""Phone numbers: add (unverified), verify by a 6-digit SMS code, one owner per verified number."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.errors import Conflict, InputError, NotFound, RateLimited
from gateway.identity import schema
from gateway.identity.base import Deps, code_hash, codes_match, hit_rate_limit, new_code, utc, utc_opt
from gateway.identity.records import PhoneRecord

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_STRIP = re.compile(r"[\s().\-/]")


def normalize_phone(value: str) -> str:
    """Normalize to E.164 (``+15551234567``). ``00`` becomes ``+``; a bare 10-digit number is taken as NANP."""
    raw = _STRIP.sub("", value.strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not raw.startswith("+") and raw.isdigit():
        raw = "+1" + raw if len(raw) == 10 else "+" + raw
    if not _E164.match(raw):
        raise InputError("That is not a phone number in international form, e.g. +15551234567.")
    return raw


def mask_phone(number: str) -> str:
    """``+15551234567`` → ``+1•••••••4567`` (for pages, logs and audit detail)."""
    return number[:2] + "•" * max(len(number) - 6, 0) + number[-4:]


def row_to_phone(row: Any) -> PhoneRecord:
    return PhoneRecord(
        id=row.id,
        owner_id=row.owner_id,
        person_id=row.person_id,
        number=row.number,
        verified=row.verified_number is not None,
        verified_at=utc_opt(row.verified_at),
        code_pending=row.code_hash is not None,
        created_at=utc(row.created_at),
    )


class PhoneBook:
    """The phone half of :class:`~gateway.identity.store.SqlOwners`."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    def list(self, owner_id: str) -> list[PhoneRecord]:
        t = schema.phones
        with self._d.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.owner_id == owner_id).order_by(t.c.created_at, t.c.id)).all()
        return [row_to_phone(r) for r in rows]

    def get(self, owner_id: str, phone_id: str) -> PhoneRecord:
        """The phone ``phone_id`` of ``owner_id``; another owner's phone is ``NotFound`` like a missing one."""
        t = schema.phones
        with self._d.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == phone_id, t.c.owner_id == owner_id)).first()
        if row is None:
            raise NotFound("No such phone on this account.")
        return row_to_phone(row)

    def owner_of_verified(self, number: str) -> str | None:
        t = schema.phones
        with self._d.engine.connect() as conn:
            return conn.execute(sa.select(t.c.owner_id).where(t.c.verified_number == number)).scalar_one_or_none()

    def add(self, owner_id: str, number: str, *, person_id: str | None = None, agent: str) -> PhoneRecord:
        """Add an unverified number; refused with ``Conflict`` when another owner has verified it."""
        number = normalize_phone(number)
        t = schema.phones
        now = self._d.now()
        with self._d.engine.begin() as conn:
            if conn.execute(sa.select(schema.owners.c.id).where(schema.owners.c.id == owner_id)).first() is None:
                raise NotFound("No such owner.")
            holder = conn.execute(sa.select(t.c.owner_id).where(t.c.verified_number == number)).scalar_one_or_none()
            if holder is not None and holder != owner_id:
                raise Conflict("This phone number already belongs to another account.")
            existing = conn.execute(sa.select(t).where(t.c.owner_id == owner_id, t.c.number == number)).first()
            if existing is not None:
                return row_to_phone(existing)
            phone_id = self._d.ids.new_id("ph")
            conn.execute(
                t.insert().values(
                    id=phone_id, owner_id=owner_id, person_id=person_id, number=number, code_attempts=0, created_at=now
                )
            )
            row = conn.execute(sa.select(t).where(t.c.id == phone_id)).one()
        self._d.record("phone_added", owner_id=owner_id, agent=agent, phone=mask_phone(number))
        return row_to_phone(row)

    def start_verification(self, owner_id: str, phone_id: str, *, agent: str, ip: str | None = None) -> PhoneRecord:
        """Text a fresh 6-digit code to the phone (rate-limited per number and per IP)."""
        phone = self.get(owner_id, phone_id)
        if phone.verified:
            return phone
        self._claimed_elsewhere(phone)
        code = new_code()
        now = self._d.now()
        hour = timedelta(hours=1)
        with self._d.engine.begin() as conn:
            hit_rate_limit(
                conn,
                self._d,
                key=f"code:phone:{phone.number}",
                limit=self._d.policy.codes_per_phone_per_hour,
                window=hour,
                what="codes for this number",
            )
            if ip:
                hit_rate_limit(
                    conn,
                    self._d,
                    key=f"code:ip:{ip}",
                    limit=self._d.policy.codes_per_ip_per_hour,
                    window=hour,
                    what="codes requested",
                )
            conn.execute(
                schema.phones.update()
                .where(schema.phones.c.id == phone_id)
                .values(
                    code_hash=code_hash(phone_id, code),
                    code_expires_at=now + timedelta(minutes=self._d.policy.code_ttl_minutes),
                    code_attempts=0,
                )
            )
        self._d.sms(
            phone.number,
            f"Your OmniOps verification code is {code}. It expires in "
            f"{self._d.policy.code_ttl_minutes} minutes. Never share it.",
        )
        self._d.record(
            "phone_verification_started", owner_id=owner_id, agent=agent, ip=ip, phone=mask_phone(phone.number)
        )
        return self.get(owner_id, phone_id)

    def verify(self, owner_id: str, phone_id: str, code: str, *, agent: str, ip: str | None = None) -> PhoneRecord:
        """Check the code; on success the number is verified and claimed for ``owner_id``.

        Raises ``InputError`` for a wrong or expired code, ``RateLimited`` once the code is burnt by too many
        guesses, and ``Conflict`` when another owner verified the number first.
        """
        t = schema.phones
        now = self._d.now()
        with self._d.engine.begin() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == phone_id, t.c.owner_id == owner_id)).first()
            if row is None:
                raise NotFound("No such phone on this account.")
            if row.verified_number is not None:
                return row_to_phone(row)
            expired = row.code_expires_at is None or utc(row.code_expires_at) <= now
            if row.code_hash is None or expired:
                raise InputError("That code has expired; ask for a new one.")
            if not codes_match(row.code_hash, phone_id, code):
                # atomic increment: concurrent guesses cannot share one attempt
                conn.execute(t.update().where(t.c.id == phone_id).values(code_attempts=t.c.code_attempts + 1))
                attempts = conn.execute(sa.select(t.c.code_attempts).where(t.c.id == phone_id)).scalar_one()
                burnt = attempts >= self._d.policy.code_max_attempts
                if burnt:
                    conn.execute(t.update().where(t.c.id == phone_id).values(code_hash=None, code_expires_at=None))
                wrong = True
            else:
                wrong = False
        if wrong:
            self._d.record(
                "phone_verification_failed",
                owner_id=owner_id,
                agent=agent,
                success=False,
                ip=ip,
                phone=mask_phone(row.number),
            )
            if burnt:
                raise RateLimited("Too many wrong codes; ask for a new one.")
            raise InputError("That code is not right.")
        try:
            with self._d.engine.begin() as conn:
                conn.execute(
                    t.update()
                    .where(t.c.id == phone_id)
                    .values(verified_number=row.number, verified_at=now, code_hash=None, code_expires_at=None)
                )
                # other owners' unverified copies of this number are now dead weight
                conn.execute(
                    sa.delete(t).where(
                        t.c.number == row.number, t.c.owner_id != owner_id, t.c.verified_number.is_(None)
                    )
                )
        except IntegrityError as err:
            raise Conflict("This phone number already belongs to another account.") from err
        self._d.record("phone_verified", owner_id=owner_id, agent=agent, ip=ip, phone=mask_phone(row.number))
        return self.get(owner_id, phone_id)

    def mark_verified(self, owner_id: str, phone_id: str, *, agent: str) -> PhoneRecord:
        """Operator shortcut (demo seeding, support): verify without a code. Still one owner per number."""
        phone = self.get(owner_id, phone_id)
        if phone.verified:
            return phone
        try:
            with self._d.engine.begin() as conn:
                conn.execute(
                    schema.phones.update()
                    .where(schema.phones.c.id == phone_id)
                    .values(verified_number=phone.number, verified_at=self._d.now(), code_hash=None)
                )
        except IntegrityError as err:
            raise Conflict("This phone number already belongs to another account.") from err
        self._d.record(
            "phone_verified", owner_id=owner_id, agent=agent, phone=mask_phone(phone.number), method="operator"
        )
        return self.get(owner_id, phone_id)

    def remove(self, owner_id: str, phone_id: str, *, agent: str) -> None:
        phone = self.get(owner_id, phone_id)
        with self._d.engine.begin() as conn:
            conn.execute(sa.delete(schema.phones).where(schema.phones.c.id == phone_id))
        self._d.record("phone_removed", owner_id=owner_id, agent=agent, phone=mask_phone(phone.number))

    def _claimed_elsewhere(self, phone: PhoneRecord) -> None:
        holder = self.owner_of_verified(phone.number)
        if holder is not None and holder != phone.owner_id:
            raise Conflict("This phone number already belongs to another account.")
