"""SqlOwners on real SQLite and real PostgreSQL: owners, people, phones, tokens, plans, logins, audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.commands import AuthLevel
from core.errors import AuthenticationRequired, Conflict, Forbidden, InputError, NotFound, RateLimited
from core.ports import Addon, Owners, Plan
from gateway.identity import schema
from gateway.identity.records import IdentityPolicy, Role
from gateway.identity.store import SqlOwners
from tests.integration.identity.identity_support import PASSWORD, ListAudit, MutableClock, SmsOutbox


def owner_with_person(store: SqlOwners, name: str = "Acme", email: str = "ann@acme.test", plan: str = "ai_assisted"):
    owner = store.create_owner(name=name, plan=plan, timezone="America/New_York")
    person = store.add_person(owner.id, name="Ann", email=email, password=PASSWORD)
    return owner, person


def verified_phone(store: SqlOwners, sms: SmsOutbox, owner_id: str, number: str = "+15551230001"):
    phone = store.add_phone(owner_id, number)
    store.start_phone_verification(owner_id, phone.id)
    return store.verify_phone(owner_id, phone.id, sms.last_code(number))


def test_owner_create_get_list_show(store: SqlOwners, audit: ListAudit) -> None:
    owner, person = owner_with_person(store)
    port: Owners = store  # the core port, statically
    assert port.get(owner.id) is not None
    got = store.get(owner.id)
    assert got is not None
    assert (got.name, got.plan, got.timezone, got.emails) == (
        "Acme",
        Plan.AI_ASSISTED,
        "America/New_York",
        ("ann@acme.test",),
    )
    assert [o.id for o in store.list_owners()] == [owner.id]
    details = store.show(owner.id)
    assert [p.id for p in details.people] == [person.id]
    assert details.people[0].role is Role.OWNER and details.people[0].has_password
    assert store.get("own_missing") is None
    with pytest.raises(NotFound):
        store.show("own_missing")
    assert audit.actions()[:2] == ["identity.owner_created", "identity.person_added"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"plan": "gold"}, "Unknown plan"),
        ({"timezone": "Mars/Olympus"}, "Unknown timezone"),
        ({"locale": "english"}, "locale"),
        ({"addons": ["coffee"]}, "Unknown add-on"),
    ],
)
def test_owner_create_validates(store: SqlOwners, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        store.create_owner(name="Bad", **kwargs)  # type: ignore[arg-type]


def test_person_email_is_unique_and_normalized(store: SqlOwners) -> None:
    owner, _ = owner_with_person(store)
    with pytest.raises(Conflict):
        store.add_person(owner.id, name="Again", email="  ANN@acme.test ")
    with pytest.raises(InputError):
        store.add_person(owner.id, name="Short", email="bob@acme.test", password="short")
    assert store.person_by_email("Ann@Acme.test") is not None


def test_phone_verification_claims_number(store: SqlOwners, sms: SmsOutbox, audit: ListAudit) -> None:
    owner, _ = owner_with_person(store)
    phone = store.add_phone(owner.id, "(555) 123-0001")
    assert phone.number == "+15551230001" and not phone.verified
    assert store.by_verified_phone("+15551230001") is None
    store.start_phone_verification(owner.id, phone.id)
    code = sms.last_code("+15551230001")
    with pytest.raises(InputError):
        store.verify_phone(owner.id, phone.id, "000000" if code != "000000" else "111111")
    done = store.verify_phone(owner.id, phone.id, code)
    assert done.verified
    found = store.by_verified_phone("+1 555 123 0001")
    assert found is not None and found.id == owner.id and found.verified_phones == ("+15551230001",)
    assert "identity.phone_verified" in audit.actions()
    assert "5551230001" not in str(audit.last("identity.phone_verified").detail)  # masked in the audit log


def test_phone_claimed_by_second_owner_refused(store: SqlOwners, sms: SmsOutbox) -> None:
    a, _ = owner_with_person(store)
    b, _ = owner_with_person(store, name="Bolt", email="bo@bolt.test")
    verified_phone(store, sms, a.id)
    with pytest.raises(Conflict):
        store.add_phone(b.id, "+15551230001")
    owner = store.by_verified_phone("+15551230001")
    assert owner is not None and owner.id == a.id


def test_phone_verified_first_wins_the_race(store: SqlOwners, sms: SmsOutbox) -> None:
    a, _ = owner_with_person(store)
    b, _ = owner_with_person(store, name="Bolt", email="bo@bolt.test")
    pa = store.add_phone(a.id, "+15551230002")
    pb = store.add_phone(b.id, "+15551230002")  # both unverified: allowed
    store.start_phone_verification(b.id, pb.id)
    b_code = sms.last_code("+15551230002")
    store.start_phone_verification(a.id, pa.id)
    store.verify_phone(a.id, pa.id, sms.last_code("+15551230002"))
    with pytest.raises(NotFound):  # b's unverified copy was dropped when a claimed the number
        store.verify_phone(b.id, pb.id, b_code)
    # a copy that slipped in before a's claim (a race) still cannot be verified: the database refuses
    with store._d.engine.begin() as conn:
        conn.execute(
            schema.phones.insert().values(
                id="ph_race", owner_id=b.id, number="+15551230002", code_attempts=0, created_at=store._d.now()
            )
        )
    with pytest.raises(Conflict):
        store.phones.mark_verified(b.id, "ph_race", agent="operator")


def test_phone_code_expires_burns_and_is_rate_limited(store: SqlOwners, sms: SmsOutbox, clock: MutableClock) -> None:
    owner, _ = owner_with_person(store)
    phone = store.add_phone(owner.id, "+15551230003")
    store.start_phone_verification(owner.id, phone.id)
    clock.advance(minutes=11)
    with pytest.raises(InputError, match="expired"):
        store.verify_phone(owner.id, phone.id, sms.last_code("+15551230003"))
    store.start_phone_verification(owner.id, phone.id)
    code = sms.last_code("+15551230003")
    wrong = "123456" if code != "123456" else "654321"
    for _ in range(4):
        with pytest.raises(InputError):
            store.verify_phone(owner.id, phone.id, wrong)
    with pytest.raises(RateLimited):
        store.verify_phone(owner.id, phone.id, wrong)
    with pytest.raises(InputError):  # burnt: even the right code no longer works
        store.verify_phone(owner.id, phone.id, code)
    for _ in range(3):
        store.start_phone_verification(owner.id, phone.id)
    with pytest.raises(RateLimited):  # 5 codes per number per hour
        store.start_phone_verification(owner.id, phone.id)
    clock.advance(hours=1, minutes=1)
    store.start_phone_verification(owner.id, phone.id)


def test_token_lifecycle(store: SqlOwners, audit: ListAudit, clock: MutableClock) -> None:
    owner, person = owner_with_person(store)
    issued = store.create_token(owner.id, name="iPhone", scopes=["siri", "runs:read"], person_id=person.id)
    assert issued.raw.startswith("oo_") and len(issued.raw) == 46
    assert issued.raw not in repr(issued)
    with store._d.engine.connect() as conn:  # only the hash is stored
        stored = conn.execute(sa.select(schema.tokens)).one()
    assert issued.raw not in [str(v) for v in stored]
    principal = store.resolve_token(issued.raw, "siri")
    assert (principal.owner_id, principal.person_id, principal.auth) == (owner.id, person.id, AuthLevel.TOKEN)
    assert store.list_tokens(owner.id)[0].last_used_at == clock.now()
    with pytest.raises(Forbidden):
        store.resolve_token(issued.raw, "chat")
    revoked = store.revoke_token(owner.id, issued.record.id)
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationRequired) as err:
        store.resolve_token(issued.raw, "siri")
    assert err.value.status == 401
    assert [a for a in audit.actions() if a.startswith("identity.token")] == [
        "identity.token_created",
        "identity.token_revoked",
    ]
    assert issued.raw not in str([e.model_dump() for e in audit.entries])


@pytest.mark.parametrize("raw", ["", "oo_short", "Bearer x", "oo_" + "A" * 43, "xx_" + "A" * 43])
def test_unknown_tokens_need_authentication(store: SqlOwners, raw: str) -> None:
    with pytest.raises(AuthenticationRequired):
        store.resolve_token(raw, "siri")


def test_token_scopes_and_cross_owner_revoke(store: SqlOwners) -> None:
    a, _ = owner_with_person(store)
    b, _ = owner_with_person(store, name="Bolt", email="bo@bolt.test")
    with pytest.raises(InputError):
        store.create_token(a.id, name="x", scopes=["admin"])
    with pytest.raises(InputError):
        store.create_token(a.id, name="x", scopes=[])
    tok = store.create_token(a.id, name="x", scopes=["siri"])
    with pytest.raises(NotFound):
        store.revoke_token(b.id, tok.record.id)
    assert store.resolve_token(tok.raw, "siri").owner_id == a.id


def test_set_plan_is_audited(store: SqlOwners, audit: ListAudit) -> None:
    owner, _ = owner_with_person(store, plan="manual")
    after = store.set_plan(owner.id, "ai_assisted", addons=["custom_workflow"], agent="operator:test")
    assert after.plan is Plan.AI_ASSISTED and after.addons == (Addon.CUSTOM_WORKFLOW,)
    entry = audit.last("identity.plan_changed")
    assert entry.owner_id == owner.id and entry.agent == "operator:test"
    assert entry.detail["plan_before"] == "manual" and entry.detail["addons"] == ["custom_workflow"]
    kept = store.set_plan(owner.id, "ai_assisted")
    assert kept.addons == (Addon.CUSTOM_WORKFLOW,)
    with pytest.raises(NotFound):
        store.set_plan("own_missing", "manual")


def test_password_login_good_bad_and_lockout(store: SqlOwners, audit: ListAudit, clock: MutableClock) -> None:
    _, person = owner_with_person(store)
    assert store.logins.login_password("ANN@acme.test", PASSWORD, ip="10.0.0.1").id == person.id
    assert audit.last("identity.login").ip_address == "10.0.0.1"
    for _ in range(4):
        with pytest.raises(AuthenticationRequired):
            store.logins.login_password("ann@acme.test", "wrong password!", ip="10.0.0.1")
    with pytest.raises(AuthenticationRequired):
        store.logins.login_password("ann@acme.test", "wrong password!", ip="10.0.0.1")
    assert "identity.lockout" in audit.actions()
    with pytest.raises(RateLimited, match="try again"):
        store.logins.login_password("ann@acme.test", PASSWORD, ip="10.0.0.1")
    assert audit.last("identity.login_refused").detail["reason"] == "locked"
    clock.advance(minutes=16)
    assert store.logins.login_password("ann@acme.test", PASSWORD, ip="10.0.0.1").id == person.id
    failed = audit.last("identity.login_failed")
    assert failed.success is False and PASSWORD not in str(failed.model_dump())


def test_unknown_account_fails_like_a_wrong_password(store: SqlOwners, audit: ListAudit) -> None:
    with pytest.raises(AuthenticationRequired) as unknown:
        store.logins.login_password("nobody@acme.test", PASSWORD)
    owner_with_person(store)
    with pytest.raises(AuthenticationRequired) as wrong:
        store.logins.login_password("ann@acme.test", "not the password")
    assert unknown.value.message == wrong.value.message
    assert audit.last("identity.login_failed").owner_id is not None


@pytest.mark.parametrize("policy", [IdentityPolicy(login_attempts_per_ip=3, login_attempts_per_account=100)])
def test_login_rate_limited_per_ip(store: SqlOwners, audit: ListAudit) -> None:
    for i in range(3):
        with pytest.raises(AuthenticationRequired):
            store.logins.login_password(f"user{i}@acme.test", "whatever pass", ip="10.9.9.9")
    with pytest.raises(RateLimited):
        store.logins.login_password("user9@acme.test", "whatever pass", ip="10.9.9.9")
    with pytest.raises(AuthenticationRequired):  # another IP is not affected
        store.logins.login_password("user9@acme.test", "whatever pass", ip="10.9.9.10")
    assert "identity.login_rate_limited" in audit.actions()


@pytest.mark.parametrize("policy", [IdentityPolicy(login_attempts_per_account=2, lockout_failures=50)])
def test_login_rate_limited_per_account(store: SqlOwners) -> None:
    owner_with_person(store)
    for ip in ("10.0.0.1", "10.0.0.2"):
        with pytest.raises(AuthenticationRequired):
            store.logins.login_password("ann@acme.test", "not the password", ip=ip)
    with pytest.raises(RateLimited):
        store.logins.login_password("ann@acme.test", PASSWORD, ip="10.0.0.3")


def test_sms_login(store: SqlOwners, sms: SmsOutbox, audit: ListAudit, clock: MutableClock) -> None:
    owner, person = owner_with_person(store)
    verified_phone(store, sms, owner.id)
    challenge = store.logins.start_sms_login("+15551230001", ip="10.0.0.1")
    code = sms.last_code("+15551230001")
    with pytest.raises(AuthenticationRequired):
        store.logins.finish_sms_login(challenge, "000000" if code != "000000" else "111111")
    assert store.logins.finish_sms_login(challenge, code).id == person.id
    with pytest.raises(AuthenticationRequired):  # single use
        store.logins.finish_sms_login(challenge, code)
    assert audit.last("identity.login").detail["method"] == "sms"
    late = store.logins.start_sms_login("+15551230001")
    clock.advance(minutes=11)
    with pytest.raises(AuthenticationRequired):
        store.logins.finish_sms_login(late, sms.last_code("+15551230001"))


def test_sms_login_unknown_or_unverified_number_sends_nothing(store: SqlOwners, sms: SmsOutbox) -> None:
    owner, _ = owner_with_person(store)
    store.add_phone(owner.id, "+15551230009")  # unverified
    before = len(sms.sent)
    for number in ("+15551230009", "+15559999999"):
        challenge = store.logins.start_sms_login(number)
        with pytest.raises(AuthenticationRequired):
            store.logins.finish_sms_login(challenge, "123456")
    assert len(sms.sent) == before


def test_sessions_end_on_logout_and_password_change(store: SqlOwners, clock: MutableClock) -> None:
    _, person = owner_with_person(store)
    raw = store.logins.create_session(person.id, method="password")
    got = store.logins.session_person(raw)
    assert got is not None and got.id == person.id
    store.logins.end_session(raw)
    assert store.logins.session_person(raw) is None
    other = store.logins.create_session(person.id, method="password")
    store.set_password(person.id, "a brand new password")
    assert store.logins.session_person(other) is None
    third = store.logins.create_session(person.id, method="password")
    clock.advance(hours=13)
    assert store.logins.session_person(third) is None


def test_parallel_wrong_codes_each_count(store: SqlOwners, sms: SmsOutbox) -> None:
    from concurrent.futures import ThreadPoolExecutor

    owner, _ = owner_with_person(store)
    phone = store.add_phone(owner.id, "+15551230004")
    store.start_phone_verification(owner.id, phone.id)
    code = sms.last_code("+15551230004")
    wrong = "123456" if code != "123456" else "654321"

    def guess(_: int) -> str:
        try:
            store.verify_phone(owner.id, phone.id, wrong)
        except (InputError, RateLimited) as err:
            return type(err).__name__
        return "verified"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(guess, range(8)))
    assert "verified" not in outcomes and "RateLimited" in outcomes
    with pytest.raises(InputError):  # burnt by the parallel guesses
        store.verify_phone(owner.id, phone.id, code)
