"""The owner API for standing consents over real HTTP: list, revoke, cross-owner refusal, audit."""

from __future__ import annotations

import httpx
import pytest

from core.commands import AuthLevel, Channel, Command, Principal, ReplyRoute
from core.errors import ConsentError
from core.ports import ConsentRecord, ConsentStatus
from tests.integration.consent.conftest import OTHER, OWNER, WEEKLY, World


def standing_grant(world: World, owner_id: str = OWNER.id) -> ConsentRecord:
    cmd = Command(
        channel=Channel.WIDGET,
        principal=Principal(owner_id=owner_id, auth=AuthLevel.SESSION),
        intent="schedule_workflow",
        params={"schedule": "every monday", "tasks": ["sales_report"]},
        reply_route=ReplyRoute(channel=Channel.WIDGET, to="sess-1"),
        request_id="req-w",
        received_at=world.clock.now(),
    )
    issued = world.store.create(command=cmd, declaration=WEEKLY, ttl_seconds=900)
    return world.store.decide(issued.record.id, approve=True, evidence={"via": "card", "channel": "widget"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_list_needs_an_owner_token(world: World) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, bearer("nope")):
        resp = httpx.get(f"{world.base_url}/v1/consents", headers=headers)
        assert resp.status_code == 401 and resp.headers["content-type"] == "application/problem+json"


def test_list_shows_only_the_owners_active_standing_grants(world: World) -> None:
    mine = standing_grant(world)
    standing_grant(world, OTHER.id)
    world.ask()  # a pending one-time request is not a standing grant
    resp = httpx.get(f"{world.base_url}/v1/consents", headers=bearer("tok-owner-1"))
    assert resp.status_code == 200
    (grant,) = resp.json()["consents"]
    assert grant["id"] == mine.id and grant["standing"] is True and grant["status"] == "approved"
    assert grant["action"] == "Send a weekly sales report" and grant["duration"] == "until revoked"
    assert grant["params"] == {"schedule": "every monday", "tasks": ["sales_report"]}
    assert grant["expires_at"] is None and "params_hash" not in grant and "token_hash" not in grant


def test_revoke_stops_future_runs_and_is_audited(world: World) -> None:
    grant = standing_grant(world)
    url = f"{world.base_url}/v1/consents/{grant.id}/revoke"
    resp = httpx.post(url, headers={**bearer("tok-owner-1"), "User-Agent": "owner-script/1"})
    assert resp.status_code == 200 and resp.json()["status"] == "revoked" and resp.json()["revoked_at"]
    assert world.store.get(grant.id).status is ConsentStatus.REVOKED  # type: ignore[union-attr]
    with pytest.raises(ConsentError) as err:
        world.store.check_grant(grant.id, owner_id=OWNER.id, params_hash=grant.params_hash)
    assert err.value.extra["reason"] == "revoked"
    (entry,) = [e for e in world.audit.entries if e.action == "consent.revoked"]
    assert entry.owner_id == OWNER.id and entry.consent_id == grant.id and entry.user_agent == "owner-script/1"
    listed = httpx.get(f"{world.base_url}/v1/consents", headers=bearer("tok-owner-1")).json()["consents"]
    assert listed == []
    again = httpx.post(url, headers=bearer("tok-owner-1"))
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert len([e for e in world.audit.entries if e.action == "consent.revoked"]) == 1


def test_cross_owner_revoke_is_404_and_changes_nothing(world: World) -> None:
    grant = standing_grant(world)
    resp = httpx.post(f"{world.base_url}/v1/consents/{grant.id}/revoke", headers=bearer("tok-owner-2"))
    assert resp.status_code == 404 and resp.headers["content-type"] == "application/problem+json"
    missing = httpx.post(f"{world.base_url}/v1/consents/con_nope/revoke", headers=bearer("tok-owner-1"))
    assert missing.status_code == 404
    assert world.store.get(grant.id).status is ConsentStatus.APPROVED  # type: ignore[union-attr]
    assert [e for e in world.audit.entries if e.action == "consent.revoked"] == []


def test_routes_are_in_the_openapi_document(world: World) -> None:
    paths = httpx.get(f"{world.base_url}/openapi.json").json()["paths"]
    assert set(paths["/consent/{token}"]) == {"get", "post"}
    assert paths["/v1/consents"]["get"]["security"] == [{"ownerToken": []}]
    assert "post" in paths["/v1/consents/{consent_id}/revoke"]
