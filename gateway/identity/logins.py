"""People logging in: password (rate-limited, lockout), one-time SMS code to a verified phone, and sessions."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from core.errors import AuthenticationRequired, InputError, RateLimited
from gateway.identity import schema
from gateway.identity.base import Deps, code_hash, codes_match, hit_rate_limit, new_code, sha256, utc, utc_opt
from gateway.identity.phones import mask_phone, normalize_phone
from gateway.identity.records import Person, Role

BAD_LOGIN = "That email and password do not match an account."
BAD_CODE = "That code is not right or has expired."


def normalize_email(value: str) -> str:
    """Trim and lower-case; a minimal shape check (the real check is the code or the password)."""
    email = value.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
        raise InputError("That does not look like an e-mail address.")
    return email


def row_to_person(row: Any) -> Person:
    return Person(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        email=row.email,
        role=Role(row.role),
        has_password=row.password_hash is not None,
        locked_until=utc_opt(row.locked_until),
        created_at=utc(row.created_at),
    )


class Logins:
    """Authentication of people; every outcome is audited."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    # ----------------------------------------------------------------------------------------- password
    def login_password(
        self, email: str, password: str, *, ip: str | None = None, user_agent: str | None = None
    ) -> Person:
        """Check a password. Raises ``AuthenticationRequired`` (wrong) or ``RateLimited`` (too many, locked)."""
        d, t = self._d, schema.people
        try:
            email = normalize_email(email)
        except InputError:
            d.passwords.verify(None, password)  # same work as a real miss
            d.record(
                "login_failed",
                owner_id=None,
                agent="anonymous",
                success=False,
                ip=ip,
                user_agent=user_agent,
                method="password",
                reason="malformed_email",
            )
            raise AuthenticationRequired(BAD_LOGIN) from None
        self._limit_attempts(account=email, ip=ip, user_agent=user_agent)
        now = d.now()
        with d.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.email == email)).first()
        if row is not None and row.locked_until is not None and utc(row.locked_until) > now:
            d.record(
                "login_refused",
                owner_id=row.owner_id,
                agent=f"person:{row.id}",
                success=False,
                ip=ip,
                user_agent=user_agent,
                method="password",
                reason="locked",
            )
            minutes = max(1, int((utc(row.locked_until) - now).total_seconds() // 60) + 1)
            raise RateLimited(
                f"Too many failed attempts; try again in {minutes} minutes.",
                retry_after=(utc(row.locked_until) - now).total_seconds(),
            )
        ok = d.passwords.verify(row.password_hash if row is not None else None, password)
        if not ok or row is None:
            self._failed(row, ip=ip, user_agent=user_agent)
            raise AuthenticationRequired(BAD_LOGIN)
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if d.passwords.needs_rehash(row.password_hash):
            values["password_hash"] = d.passwords.hash(password)
        with d.engine.begin() as conn:
            conn.execute(t.update().where(t.c.id == row.id).values(**values))
        d.record(
            "login", owner_id=row.owner_id, agent=f"person:{row.id}", ip=ip, user_agent=user_agent, method="password"
        )
        person = self.get_person(row.id)
        if person is None:  # deleted in between
            raise AuthenticationRequired(BAD_LOGIN)
        return person

    def _limit_attempts(self, *, account: str | None, ip: str | None, user_agent: str | None) -> None:
        d, p = self._d, self._d.policy
        window = timedelta(minutes=p.login_window_minutes)
        try:
            with d.engine.begin() as conn:
                if account:
                    hit_rate_limit(
                        conn,
                        d,
                        key=f"login:acct:{account}",
                        limit=p.login_attempts_per_account,
                        window=window,
                        what="sign-in attempts",
                    )
                if ip:
                    hit_rate_limit(
                        conn,
                        d,
                        key=f"login:ip:{ip}",
                        limit=p.login_attempts_per_ip,
                        window=window,
                        what="sign-in attempts",
                    )
        except RateLimited:
            d.record(
                "login_rate_limited", owner_id=None, agent="anonymous", success=False, ip=ip, user_agent=user_agent
            )
            raise

    def _failed(self, row: Any, *, ip: str | None, user_agent: str | None) -> None:
        d, p, t = self._d, self._d.policy, schema.people
        if row is None:
            d.record(
                "login_failed",
                owner_id=None,
                agent="anonymous",
                success=False,
                ip=ip,
                user_agent=user_agent,
                method="password",
                reason="unknown_account",
            )
            return
        with d.engine.begin() as conn:  # atomic increment: parallel guesses each count
            conn.execute(t.update().where(t.c.id == row.id).values(failed_logins=t.c.failed_logins + 1))
            failures = conn.execute(sa.select(t.c.failed_logins).where(t.c.id == row.id)).scalar_one()
            locked = failures >= p.lockout_failures
            if locked:
                until = d.now() + timedelta(minutes=p.lockout_minutes)
                conn.execute(t.update().where(t.c.id == row.id).values(failed_logins=0, locked_until=until))
        d.record(
            "login_failed",
            owner_id=row.owner_id,
            agent=f"person:{row.id}",
            success=False,
            ip=ip,
            user_agent=user_agent,
            method="password",
            reason="bad_password",
            failures=failures,
        )
        if locked:
            d.record(
                "lockout",
                owner_id=row.owner_id,
                agent="system",
                success=True,
                ip=ip,
                user_agent=user_agent,
                person_id=row.id,
                minutes=p.lockout_minutes,
            )

    # ----------------------------------------------------------------------------------------- SMS code
    def start_sms_login(self, phone: str, *, ip: str | None = None, user_agent: str | None = None) -> str:
        """Text a one-time code to a verified phone and return the challenge id.

        The answer is the same whether or not the number is registered (a challenge that can never succeed),
        so the page cannot be used to discover who is a customer.
        """
        d, p = self._d, self._d.policy
        number = normalize_phone(phone)
        hour = timedelta(hours=1)
        with d.engine.begin() as conn:
            hit_rate_limit(
                conn,
                d,
                key=f"code:phone:{number}",
                limit=p.codes_per_phone_per_hour,
                window=hour,
                what="codes for this number",
            )
            if ip:
                hit_rate_limit(
                    conn, d, key=f"code:ip:{ip}", limit=p.codes_per_ip_per_hour, window=hour, what="codes requested"
                )
        person_id, owner_id = self._person_for_phone(number)
        challenge = d.ids.new_id("lc")
        code = new_code()
        now = d.now()
        with d.engine.begin() as conn:
            conn.execute(
                schema.login_codes.insert().values(
                    id=challenge,
                    person_id=person_id,
                    code_hash=code_hash(challenge, code),
                    expires_at=now + timedelta(minutes=p.code_ttl_minutes),
                    attempts=0,
                    created_at=now,
                )
            )
        if person_id is not None:
            d.sms(
                number,
                f"Your OmniOps sign-in code is {code}. It expires in {p.code_ttl_minutes} minutes. "
                "If you did not ask for it, ignore this message.",
            )
            d.record(
                "sms_login_code_sent",
                owner_id=owner_id,
                agent=f"person:{person_id}",
                ip=ip,
                user_agent=user_agent,
                phone=mask_phone(number),
            )
        return challenge

    def finish_sms_login(
        self, challenge: str, code: str, *, ip: str | None = None, user_agent: str | None = None
    ) -> Person:
        """Exchange a right, unexpired, unused code for the person; wrong guesses burn the code after a few."""
        d, p, t = self._d, self._d.policy, schema.login_codes
        self._limit_attempts(account=None, ip=ip, user_agent=user_agent)
        now = d.now()
        with d.engine.begin() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == challenge)).first()
            usable = (
                row is not None
                and row.person_id is not None
                and row.consumed_at is None
                and utc(row.expires_at) > now
                and row.attempts < p.code_max_attempts
            )
            right = usable and row is not None and codes_match(row.code_hash, challenge, code)
            if row is not None and not right:
                conn.execute(t.update().where(t.c.id == challenge).values(attempts=t.c.attempts + 1))
            claimed = False
            if right:
                claimed = (
                    conn.execute(
                        t.update()
                        .where(t.c.id == challenge, t.c.consumed_at.is_(None), t.c.attempts < p.code_max_attempts)
                        .values(consumed_at=now)
                    ).rowcount
                    == 1
                )
        person = self.get_person(row.person_id) if row is not None and row.person_id else None
        if not claimed or person is None:
            d.record(
                "login_failed",
                owner_id=person.owner_id if person else None,
                agent=f"person:{person.id}" if person else "anonymous",
                success=False,
                ip=ip,
                user_agent=user_agent,
                method="sms",
                reason="bad_code",
            )
            raise AuthenticationRequired(BAD_CODE)
        d.record(
            "login", owner_id=person.owner_id, agent=f"person:{person.id}", ip=ip, user_agent=user_agent, method="sms"
        )
        return person

    def _person_for_phone(self, number: str) -> tuple[str | None, str | None]:
        ph, pe = schema.phones, schema.people
        with self._d.engine.connect() as conn:
            phone = conn.execute(sa.select(ph).where(ph.c.verified_number == number)).first()
            if phone is None:
                return None, None
            if phone.person_id is not None:
                return phone.person_id, phone.owner_id
            first_owner = conn.execute(
                sa.select(pe.c.id)
                .where(pe.c.owner_id == phone.owner_id, pe.c.role == Role.OWNER.value)
                .order_by(pe.c.created_at, pe.c.id)
                .limit(1)
            ).scalar_one_or_none()
        return first_owner, phone.owner_id if first_owner else None

    # ----------------------------------------------------------------------------------------- sessions
    def create_session(
        self, person_id: str, *, method: str, ip: str | None = None, user_agent: str | None = None
    ) -> str:
        """Start a server-side session; returns the raw session id for the (signed) cookie. Only its hash is kept."""
        raw = secrets.token_urlsafe(32)
        now = self._d.now()
        with self._d.engine.begin() as conn:
            conn.execute(
                schema.sessions.insert().values(
                    id=self._d.ids.new_id("ses"),
                    sid_hash=sha256(raw),
                    person_id=person_id,
                    method=method,
                    created_at=now,
                    expires_at=now + timedelta(hours=self._d.policy.session_hours),
                    ip_address=ip,
                    user_agent=(user_agent or "")[:300] or None,
                )
            )
        return raw

    def session_person(self, raw: str) -> Person | None:
        """The person of a live session, or None (unknown, ended or expired)."""
        s, pe = schema.sessions, schema.people
        with self._d.engine.connect() as conn:
            row = conn.execute(
                sa.select(pe, s.c.expires_at.label("session_expires_at"))
                .join(s, s.c.person_id == pe.c.id)
                .where(s.c.sid_hash == sha256(raw), s.c.ended_at.is_(None))
            ).first()
        if row is None or utc(row.session_expires_at) <= self._d.now():
            return None
        return row_to_person(row)

    def end_session(self, raw: str, *, ip: str | None = None, user_agent: str | None = None) -> None:
        """Log out: the session can never be used again, even with a copied cookie."""
        person = self.session_person(raw)
        with self._d.engine.begin() as conn:
            conn.execute(
                schema.sessions.update()
                .where(schema.sessions.c.sid_hash == sha256(raw), schema.sessions.c.ended_at.is_(None))
                .values(ended_at=self._d.now())
            )
        if person is not None:
            self._d.record(
                "logout", owner_id=person.owner_id, agent=f"person:{person.id}", ip=ip, user_agent=user_agent
            )

    def get_person(self, person_id: str) -> Person | None:
        t = schema.people
        with self._d.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == person_id)).first()
        return None if row is None else row_to_person(row)
