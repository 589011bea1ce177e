"""The `ConsentStore` contract, run against `SqlConsentStore` on real SQLite and real PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.commands import AuthLevel, Channel, Command, Principal, ReplyRoute
from core.consent import params_hash
from core.errors import Conflict, ConsentError, NotFound, RateLimited
from core.ports import ConsentDeclaration, ConsentStatus, IssuedConsent
from executor.journal import TokenIds as RandomIds
from gateway.consent.schema import SCHEMA, consent_requests
from gateway.consent.store import (
    SqlConsentStore,
    build_consent_store,
    looks_like_token,
    standing_duration,
    token_hash,
)
from gateway.db import create_schema
from tests.fakes import DECL, FakeClock

TTL = 15 * 60
WEEKLY = ConsentDeclaration(
    action="Send a weekly sales report",
    service="omniops",
    permissions=("read orders",),
    data_access=("orders",),
    duration="until revoked",
    tier="confirm",
    standing=True,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> SqlConsentStore:
    create_schema(engine, [SCHEMA])
    return SqlConsentStore(engine, clock, RandomIds(), code_pepper=b"pepper")


def command(clock: FakeClock, owner: str = "own_1", **kw: Any) -> Command:
    fields: dict[str, Any] = {
        "channel": Channel.ALEXA,
        "principal": Principal(owner_id=owner, auth=AuthLevel.LINKED),
        "intent": "setup_integration",
        "params": {"service": "woocommerce", "store_url": "https://shop.example.com"},
        "reply_route": ReplyRoute(channel=Channel.SMS, to="+15550001111"),
        "request_id": "req-1",
        "received_at": clock.now(),
        "locale": "en-GB",
    }
    fields.update(kw)
    return Command(**fields)


def issue(store: SqlConsentStore, clock: FakeClock, owner: str = "own_1", **kw: Any) -> IssuedConsent:
    declaration = kw.pop("declaration", DECL)
    return store.create(command=command(clock, owner, **kw), declaration=declaration, ttl_seconds=TTL)


def raw_row(engine: Engine, consent_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(consent_requests).where(consent_requests.c.id == consent_id)).one()
    return dict(row._mapping)


EVIDENCE = {"via": "link", "channel": "alexa", "ip": "203.0.113.9", "user_agent": "Mobile Safari"}


# ------------------------------------------------------------------------------------------------ create
def test_create_stores_only_hashes_of_the_token_and_code(
    store: SqlConsentStore, engine: Engine, clock: FakeClock
) -> None:
    issued = issue(store, clock)
    rec = issued.record
    assert looks_like_token(issued.link_token) and len(issued.link_token) == 43  # 256 random bits
    assert issued.sms_code.isdigit() and len(issued.sms_code) == 6
    assert rec.status is ConsentStatus.PENDING and rec.owner_id == "own_1"
    assert rec.expires_at == clock.now() + timedelta(seconds=TTL) and rec.created_at == clock.now()
    assert rec.params_hash == params_hash(rec.intent, rec.params, DECL)
    assert rec.channel is Channel.ALEXA and rec.reply_route.to == "+15550001111" and rec.locale == "en-GB"
    row = raw_row(engine, rec.id)
    assert row["token_hash"] == token_hash(issued.link_token)
    stored = repr(row)
    assert issued.link_token not in stored and issued.sms_code not in row["code_hash"]
    assert issued.link_token not in repr(store) and issued.link_token not in repr(rec)


def test_two_requests_get_different_tokens(store: SqlConsentStore, clock: FakeClock) -> None:
    a, b = issue(store, clock), issue(store, clock)
    assert a.link_token != b.link_token and a.record.id != b.record.id


def test_get_by_token_refuses_tampered_malformed_and_unknown(store: SqlConsentStore, clock: FakeClock) -> None:
    issued = issue(store, clock)
    assert store.get_by_token(issued.link_token) == store.get(issued.record.id)
    flipped = ("A" if issued.link_token[-1] != "A" else "B") + issued.link_token[1:]
    assert store.get_by_token(flipped) is None
    assert store.get_by_token(issued.link_token[:-1]) is None
    assert store.get_by_token(issued.link_token + "x") is None
    assert store.get_by_token("../../etc/passwd") is None
    assert store.get("con_nope") is None


# ------------------------------------------------------------------------------------------------ decide
def test_approve_records_evidence_and_is_single_use(store: SqlConsentStore, engine: Engine, clock: FakeClock) -> None:
    rec = issue(store, clock).record
    clock.advance(30)
    approved = store.decide(rec.id, approve=True, evidence={**EVIDENCE, "code": "123456"})
    assert approved.status is ConsentStatus.APPROVED and approved.decided_at == clock.now()
    assert approved.evidence["ip"] == "203.0.113.9" and approved.evidence["user_agent"] == "Mobile Safari"
    assert approved.evidence["channel"] == "alexa" and approved.evidence["code_used"] is False
    assert approved.evidence["decided_at"] == clock.now().isoformat()
    assert "code" not in approved.evidence  # never the code itself
    with pytest.raises(Conflict):
        store.decide(rec.id, approve=True, evidence=EVIDENCE)
    with pytest.raises(Conflict):
        store.decide(rec.id, approve=False, evidence=EVIDENCE)
    assert raw_row(engine, rec.id)["status"] == "approved"


def test_deny(store: SqlConsentStore, clock: FakeClock) -> None:
    rec = issue(store, clock).record
    denied = store.decide(rec.id, approve=False, evidence=EVIDENCE)
    assert denied.status is ConsentStatus.DENIED and denied.grant_expires_at is None
    with pytest.raises(ConsentError) as err:
        store.check_grant(rec.id, owner_id="own_1", params_hash=rec.params_hash)
    assert err.value.extra["reason"] == "denied"


def test_decide_unknown_is_not_found(store: SqlConsentStore) -> None:
    with pytest.raises(NotFound):
        store.decide("con_missing", approve=True, evidence=EVIDENCE)


def test_expiry_is_read_and_persisted(store: SqlConsentStore, engine: Engine, clock: FakeClock) -> None:
    issued = issue(store, clock)
    clock.advance(TTL - 1)
    assert store.get(issued.record.id).status is ConsentStatus.PENDING  # type: ignore[union-attr]
    clock.advance(1)
    assert raw_row(engine, issued.record.id)["status"] == "pending"
    assert store.get_by_token(issued.link_token).status is ConsentStatus.EXPIRED  # type: ignore[union-attr]
    assert raw_row(engine, issued.record.id)["status"] == "expired"
    with pytest.raises(Conflict):
        store.decide(issued.record.id, approve=True, evidence=EVIDENCE)
    assert store.latest_pending("own_1") is None


def test_decide_after_expiry_without_a_read_still_loses(store: SqlConsentStore, clock: FakeClock) -> None:
    rec = issue(store, clock).record
    clock.advance(TTL + 1)
    with pytest.raises(Conflict):
        store.decide(rec.id, approve=True, evidence=EVIDENCE)
    assert store.get(rec.id).status is ConsentStatus.EXPIRED  # type: ignore[union-attr]


def test_latest_pending_is_the_owners_newest(store: SqlConsentStore, clock: FakeClock) -> None:
    first = issue(store, clock).record
    clock.advance(5)
    second = issue(store, clock).record
    issue(store, clock, owner="own_2")
    assert store.latest_pending("own_1") == second
    store.decide(second.id, approve=False, evidence=EVIDENCE)
    assert store.latest_pending("own_1") == first
    assert store.latest_pending("own_3") is None


def test_concurrent_decisions_have_exactly_one_winner(store: SqlConsentStore, clock: FakeClock) -> None:
    rec = issue(store, clock).record
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            store.decide(rec.id, approve=i % 2 == 0, evidence=EVIDENCE)
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert Counter(outcomes) == {"won": 1, "conflict": 15}


# ------------------------------------------------------------------------------------------------ SMS code
def test_code_wrong_then_right_then_reused(store: SqlConsentStore, clock: FakeClock) -> None:
    issued = issue(store, clock)
    wrong = "000000" if issued.sms_code != "000000" else "111111"
    with pytest.raises(NotFound):
        store.decide_by_code("own_1", wrong, evidence={"via": "sms_code", "channel": "sms"})
    approved = store.decide_by_code("own_1", issued.sms_code, evidence={"via": "sms_code", "channel": "sms"})
    assert approved.id == issued.record.id and approved.status is ConsentStatus.APPROVED
    assert approved.evidence["code_used"] is True and issued.sms_code not in repr(approved.evidence)
    with pytest.raises(NotFound):
        store.decide_by_code("own_1", issued.sms_code, evidence={"via": "sms_code"})


def test_code_of_another_owner_is_refused(store: SqlConsentStore, clock: FakeClock) -> None:
    theirs = issue(store, clock, owner="own_2")
    issue(store, clock, owner="own_1")
    with pytest.raises(NotFound):
        store.decide_by_code("own_1", theirs.sms_code, evidence={"via": "sms_code"})
    assert store.get(theirs.record.id).status is ConsentStatus.PENDING  # type: ignore[union-attr]


def test_code_expires_with_the_request(store: SqlConsentStore, clock: FakeClock) -> None:
    issued = issue(store, clock)
    clock.advance(TTL)
    with pytest.raises(NotFound):
        store.decide_by_code("own_1", issued.sms_code, evidence={"via": "sms_code"})


def test_code_picks_the_matching_request_among_several(store: SqlConsentStore, clock: FakeClock) -> None:
    a, b = issue(store, clock), issue(store, clock)
    while b.sms_code == a.sms_code:  # one in a million
        store.decide(b.record.id, approve=False, evidence={})
        b = issue(store, clock)
    assert store.decide_by_code("own_1", a.sms_code, evidence={}).id == a.record.id
    assert store.get(b.record.id).status is ConsentStatus.PENDING  # type: ignore[union-attr]


def test_five_wrong_codes_lock_the_request(store: SqlConsentStore, clock: FakeClock) -> None:
    issued = issue(store, clock)
    wrong = [f"{n:06d}" for n in range(20) if f"{n:06d}" != issued.sms_code][:5]
    for code in wrong:
        with pytest.raises(NotFound):
            store.decide_by_code("own_1", code, evidence={})
    with pytest.raises(RateLimited) as err:
        store.decide_by_code("own_1", issued.sms_code, evidence={})
    assert err.value.retry_after is not None and 0 < err.value.retry_after <= TTL
    assert store.get(issued.record.id).status is ConsentStatus.PENDING  # type: ignore[union-attr]
    # the link still works (a different, 256-bit credential), and a new request gets fresh attempts
    fresh = issue(store, clock)
    assert store.decide_by_code("own_1", fresh.sms_code, evidence={}).id == fresh.record.id


def test_concurrent_right_codes_approve_once(store: SqlConsentStore, clock: FakeClock) -> None:
    issued = issue(store, clock)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            store.decide_by_code("own_1", issued.sms_code, evidence={})
            outcomes.append("won")
        except (NotFound, Conflict):
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert Counter(outcomes) == {"won": 1, "lost": 7}


# ------------------------------------------------------------------------------------------------ grants
def test_check_grant_accepts_a_matching_approval(store: SqlConsentStore, clock: FakeClock) -> None:
    rec = issue(store, clock).record
    store.decide(rec.id, approve=True, evidence=EVIDENCE)
    clock.advance(TTL * 2)  # the request's link expired long ago; the grant is still good for its run
    assert store.check_grant(rec.id, owner_id="own_1", params_hash=rec.params_hash).status is ConsentStatus.APPROVED


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("missing", "missing"),
        ("wrong_owner", "wrong_owner"),
        ("mismatched_hash", "params_mismatch"),
        ("pending", "not_approved"),
        ("expired_request", "expired"),
        ("expired_grant", "expired"),
        ("revoked", "revoked"),
    ],
)
def test_check_grant_refuses(store: SqlConsentStore, clock: FakeClock, case: str, reason: str) -> None:
    rec = issue(store, clock).record
    consent_id, owner, digest = rec.id, "own_1", rec.params_hash
    if case != "pending" and case != "expired_request":
        store.decide(rec.id, approve=True, evidence=EVIDENCE)
    if case == "missing":
        consent_id = "con_missing"
    elif case == "wrong_owner":
        owner = "own_2"
    elif case == "mismatched_hash":
        other = {"service": "woocommerce", "store_url": "https://evil.example"}
        digest = params_hash(rec.intent, other, DECL)
    elif case == "expired_request":
        clock.advance(TTL + 1)
    elif case == "expired_grant":
        clock.advance(24 * 3600 + 1)
    elif case == "revoked":
        store.revoke(rec.id, "own_1")
    with pytest.raises(ConsentError) as err:
        store.check_grant(consent_id, owner_id=owner, params_hash=digest)
    assert err.value.extra["reason"] == reason


def test_standing_grant_lasts_until_revoked(store: SqlConsentStore, engine: Engine, clock: FakeClock) -> None:
    rec = issue(
        store,
        clock,
        declaration=WEEKLY,
        intent="schedule_workflow",
        params={"schedule": "every monday", "tasks": ["sales_report"]},
    ).record
    assert store.list_standing("own_1") == []  # pending is not a grant
    approved = store.decide(rec.id, approve=True, evidence=EVIDENCE)
    assert approved.grant_expires_at is None
    clock.advance(400 * 24 * 3600)
    assert store.check_grant(rec.id, owner_id="own_1", params_hash=rec.params_hash).id == rec.id
    assert [g.id for g in store.list_standing("own_1")] == [rec.id]
    assert store.list_standing("own_2") == []
    with pytest.raises(NotFound):
        store.revoke(rec.id, "own_2")  # another owner's grant looks like nothing
    revoked = store.revoke(rec.id, "own_1")
    assert revoked.status is ConsentStatus.REVOKED and revoked.revoked_at == clock.now()
    assert raw_row(engine, rec.id)["status"] == "revoked"
    with pytest.raises(ConsentError) as err:
        store.check_grant(rec.id, owner_id="own_1", params_hash=rec.params_hash)
    assert err.value.extra["reason"] == "revoked"
    assert store.list_standing("own_1") == []
    with pytest.raises(Conflict):
        store.revoke(rec.id, "own_1")


def test_standing_grant_with_a_duration_runs_out(store: SqlConsentStore, clock: FakeClock) -> None:
    ninety = WEEKLY.model_copy(update={"duration": "90 days"})
    rec = issue(
        store,
        clock,
        declaration=ninety,
        intent="schedule_workflow",
        params={"schedule": "every monday", "tasks": ["sales_report"]},
    ).record
    approved = store.decide(rec.id, approve=True, evidence=EVIDENCE)
    assert approved.grant_expires_at == clock.now() + timedelta(days=90)
    clock.advance(89 * 24 * 3600)
    assert [g.id for g in store.list_standing("own_1")] == [rec.id]
    clock.advance(2 * 24 * 3600)
    assert store.list_standing("own_1") == []
    with pytest.raises(ConsentError) as err:
        store.check_grant(rec.id, owner_id="own_1", params_hash=rec.params_hash)
    assert err.value.extra["reason"] == "expired"


def test_revoke_refuses_pending_and_unknown(store: SqlConsentStore, clock: FakeClock) -> None:
    rec = issue(store, clock).record
    with pytest.raises(Conflict):
        store.revoke(rec.id, "own_1")
    with pytest.raises(NotFound):
        store.revoke("con_missing", "own_1")


def test_standing_duration_parsing() -> None:
    assert standing_duration("until revoked") is None
    assert standing_duration("90 days") == timedelta(days=90)
    assert standing_duration("2 weeks") == timedelta(days=14)
    assert standing_duration("1 year") == timedelta(days=365)
    assert standing_duration("forever-ish") is None


def test_sms_codes_are_peppered_with_the_app_secret(engine: Engine, clock: FakeClock) -> None:
    create_schema(engine, [SCHEMA])
    mine = build_consent_store(engine, clock=clock, ids=RandomIds(), secret_key="secret-one")
    stolen_db = build_consent_store(engine, clock=clock, ids=RandomIds(), secret_key="secret-two")
    issued = issue(mine, clock)
    with pytest.raises(NotFound):  # the same rows, the right code, but without the pepper it matches nothing
        stolen_db.decide_by_code("own_1", issued.sms_code, evidence={})
    assert mine.decide_by_code("own_1", issued.sms_code, evidence={}).id == issued.record.id
