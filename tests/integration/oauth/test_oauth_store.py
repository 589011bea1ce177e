"""`OAuthStore` on real SQLite and PostgreSQL: single use, replay revocation, rotation, resolution, clients."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from core.commands import AuthLevel
from core.errors import AuthenticationRequired, Conflict, NotFound
from gateway.identity.store import SqlOwners
from gateway.oauth import schema
from gateway.oauth.records import new_secret
from gateway.oauth.server import OAuthService
from gateway.oauth.store import OAuthStore
from tests.integration.identity.identity_support import ListAudit, MutableClock
from tests.integration.oauth.oauth_support import ALEXA_REDIRECT

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B


@pytest.fixture
def store(oauth: OAuthService) -> OAuthStore:
    return oauth.store


@pytest.fixture
def ids(owners_store: SqlOwners) -> tuple[str, str]:
    owner = owners_store.create_owner(name="Acme", agent="test")
    person = owners_store.add_person(owner.id, name="Ada", email="ada@acme.test", agent="test")
    return owner.id, person.id


def _code(store: OAuthStore, client_id: str, ids: tuple[str, str], code: str = "code-1") -> str:
    store.save_code(
        code,
        client_id=client_id,
        redirect_uri=ALEXA_REDIRECT,
        scope="voice",
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
        owner_id=ids[0],
        person_id=ids[1],
    )
    return code


def _linked(store: OAuthStore, client_id: str, ids: tuple[str, str], code: str = "code-1") -> tuple[str, str, str]:
    """(grant id, access, refresh) of a freshly linked pair."""
    record = store.redeem_code(_code(store, client_id, ids, code), client_id)
    assert record is not None
    access, refresh = new_secret("ooa_"), new_secret("oor_")
    store.issue_tokens(record.grant_id, grant_type="authorization_code", access_token=access, refresh_token=refresh)
    return record.grant_id, access, refresh


def test_client_secret_is_stored_hashed_and_checked(store: OAuthStore, engine: sa.Engine) -> None:
    new = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT, ALEXA_REDIRECT], agent="test")
    assert new.record.redirect_uris == (ALEXA_REDIRECT,)
    assert new.secret not in repr(new)
    with engine.connect() as conn:
        dumped = str(conn.execute(sa.select(schema.clients)).all())
    assert new.secret not in dumped
    assert store.check_client_secret(new.record.id, new.secret)
    assert not store.check_client_secret(new.record.id, new.secret + "x")
    with pytest.raises(Conflict):
        store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test")


def test_code_redeems_once_and_replay_revokes_its_tokens(
    store: OAuthStore, ids: tuple[str, str], audit: ListAudit
) -> None:
    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    grant_id, access, _ = _linked(store, client.id, ids)
    assert store.resolve_access_token(access).auth is AuthLevel.LINKED
    assert store.redeem_code("code-1", client.id) is None
    with pytest.raises(AuthenticationRequired):
        store.resolve_access_token(access)
    assert audit.last("oauth.code_reused").detail["grant_revoked"] == grant_id


def test_code_of_another_client_or_expired_is_refused(
    store: OAuthStore, ids: tuple[str, str], clock: MutableClock
) -> None:
    alexa = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    other = store.add_client(name="Other", redirect_uris=["https://other.example/cb"], agent="test").record
    _code(store, alexa.id, ids, "c-a")
    assert store.redeem_code("c-a", other.id) is None
    assert store.redeem_code("c-a", alexa.id) is not None
    _code(store, alexa.id, ids, "c-b")
    clock.advance(minutes=5, seconds=1)
    assert store.redeem_code("c-b", alexa.id) is None
    assert store.redeem_code("never-issued", alexa.id) is None


def test_racing_redemptions_have_exactly_one_winner(store: OAuthStore, ids: tuple[str, str]) -> None:
    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    _code(store, client.id, ids, "race")
    barrier = threading.Barrier(6)

    def attempt(_: int) -> Any:
        barrier.wait()
        return store.redeem_code("race", client.id)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert sum(r is not None for r in results) == 1


def test_refresh_rotation_and_family_revocation(store: OAuthStore, ids: tuple[str, str], clock: MutableClock) -> None:
    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    grant_id, access, refresh = _linked(store, client.id, ids)
    claimed = store.claim_refresh(refresh, client.id)
    assert claimed is not None and claimed.grant_id == grant_id
    access2, refresh2 = new_secret("ooa_"), new_secret("oor_")
    store.issue_tokens(grant_id, grant_type="refresh_token", access_token=access2, refresh_token=refresh2)
    assert store.claim_refresh(refresh, client.id) is None  # reuse
    for token in (access, access2):
        with pytest.raises(AuthenticationRequired):
            store.resolve_access_token(token)
    assert store.claim_refresh(refresh2, client.id) is None


def test_refresh_of_another_client_is_refused_without_burning_it(store: OAuthStore, ids: tuple[str, str]) -> None:
    alexa = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    other = store.add_client(name="Other", redirect_uris=["https://other.example/cb"], agent="test").record
    _, _, refresh = _linked(store, alexa.id, ids)
    assert store.claim_refresh(refresh, other.id) is None
    assert store.claim_refresh(refresh, alexa.id) is not None


def test_racing_refreshes_revoke_the_family(store: OAuthStore, ids: tuple[str, str]) -> None:
    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    _, access, refresh = _linked(store, client.id, ids)
    barrier = threading.Barrier(4)

    def attempt(_: int) -> Any:
        barrier.wait()
        return store.claim_refresh(refresh, client.id)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert sum(r is not None for r in results) <= 1
    with pytest.raises(AuthenticationRequired):
        store.resolve_access_token(access)  # the losers' reuse revoked everything


@pytest.mark.parametrize(
    "spoil",
    [
        lambda s, clock, grant, client: clock.advance(hours=1, seconds=1),
        lambda s, clock, grant, client: s.unlink(s.list_links(grant[0])[0].owner_id, grant[1], agent="test"),
        lambda s, clock, grant, client: s.disable_client(client, agent="test"),
    ],
    ids=["expired", "unlinked", "client_disabled"],
)
def test_access_token_stops_working(
    store: OAuthStore, ids: tuple[str, str], clock: MutableClock, spoil: Callable[..., Any]
) -> None:
    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    grant_id, access, _ = _linked(store, client.id, ids)
    principal = store.resolve_access_token(access)
    assert (principal.owner_id, principal.person_id) == ids
    spoil(store, clock, (ids[0], grant_id), client.id)
    with pytest.raises(AuthenticationRequired):
        store.resolve_access_token(access)


@pytest.mark.parametrize("raw", ["", "garbage", "ooa_" + "x" * 43, "oor_" + "x" * 43, "ooa_" + "x" * 200])
def test_unknown_access_tokens_are_refused(store: OAuthStore, raw: str) -> None:
    with pytest.raises(AuthenticationRequired):
        store.resolve_access_token(raw)


def test_links_list_and_relink_replaces(store: OAuthStore, ids: tuple[str, str], audit: ListAudit) -> None:
    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    old_grant, old_access, _ = _linked(store, client.id, ids, "c-1")
    new_grant, new_access, _ = _linked(store, client.id, ids, "c-2")
    assert [link.grant_id for link in store.list_links(ids[0])] == [new_grant]
    with pytest.raises(AuthenticationRequired):
        store.resolve_access_token(old_access)
    assert store.resolve_access_token(new_access).owner_id == ids[0]
    assert audit.last("oauth.linked").detail["replaced"] == [old_grant]
    with pytest.raises(NotFound):
        store.unlink("own_someone_else", new_grant, agent="test")


def test_deleting_the_owner_removes_its_links(store: OAuthStore, ids: tuple[str, str], engine: sa.Engine) -> None:
    from gateway.identity import schema as identity

    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    _, access, _ = _linked(store, client.id, ids)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with engine.begin() as conn:
        conn.execute(sa.delete(identity.owners).where(identity.owners.c.id == ids[0]))
    with pytest.raises(AuthenticationRequired):
        store.resolve_access_token(access)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.grants)).scalar_one() == 0


def test_disabling_a_client_is_audited_for_each_owner(
    store: OAuthStore, ids: tuple[str, str], audit: ListAudit
) -> None:
    client = store.add_client(name="Alexa", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    grant_id, _, _ = _linked(store, client.id, ids)
    store.disable_client(client.id, agent="operator:cli")
    entry = audit.last("oauth.unlinked")
    assert (entry.owner_id, entry.detail["grant_id"], entry.detail["reason"]) == (ids[0], grant_id, "client_disabled")
    assert audit.last("oauth.client_disabled").detail["grants_revoked"] == 1
