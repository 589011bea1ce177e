"""The consent policy table (core/consent.py): every tier, channel and auth, and what may grant `verified`."""

from __future__ import annotations

import itertools

import pytest

from core.commands import AuthLevel, Channel
from core.consent import ConsentMethod, grants_verified, is_voice, method_for, params_hash, required_tier
from core.intents import ConsentTier
from core.ports import ConsentDeclaration
from tests.fakes import DECL

ALL = list(itertools.product(ConsentTier, Channel, AuthLevel))
VOICE = {Channel.ALEXA, Channel.GOOGLE, Channel.SIRI}

# The table, written out from ARCHITECTURE.md §3: the only cells that differ from the tier's default.
VERIFIED_EXCEPTIONS = {
    (Channel.WIDGET, AuthLevel.SESSION): ConsentMethod.SESSION_CARD,
    (Channel.SMS, AuthLevel.VERIFIED_PHONE): ConsentMethod.SMS_CODE,
}


def expected(tier: ConsentTier, channel: Channel, auth: AuthLevel) -> ConsentMethod:
    if tier is ConsentTier.NONE:
        return ConsentMethod.NONE
    if tier is ConsentTier.CONFIRM:
        return ConsentMethod.LINK if auth is AuthLevel.ANONYMOUS else ConsentMethod.SAME_CHANNEL_YES
    return VERIFIED_EXCEPTIONS.get((channel, auth), ConsentMethod.LINK)


@pytest.mark.parametrize(("tier", "channel", "auth"), ALL, ids=lambda v: str(v))
def test_method_for_every_cell(tier: ConsentTier, channel: Channel, auth: AuthLevel) -> None:
    assert method_for(tier, channel=channel, auth=auth) is expected(tier, channel, auth)


def test_table_covers_every_combination() -> None:
    assert len(ALL) == len(ConsentTier) * len(Channel) * len(AuthLevel) == 3 * 8 * 5


@pytest.mark.parametrize(("channel", "auth"), list(itertools.product(VOICE, AuthLevel)), ids=lambda v: str(v))
def test_voice_never_collects_verified_by_voice(channel: Channel, auth: AuthLevel) -> None:
    """Anyone in the room can say yes: verified requests from voice always go out as a link."""
    assert method_for(ConsentTier.VERIFIED, channel=channel, auth=auth) is ConsentMethod.LINK
    assert not grants_verified(channel=channel, auth=auth, via="voice")
    assert not grants_verified(channel=channel, auth=auth, via="same_channel")


@pytest.mark.parametrize(("channel", "auth"), list(itertools.product(Channel, AuthLevel)), ids=lambda v: str(v))
def test_grants_verified_for_every_act(channel: Channel, auth: AuthLevel) -> None:
    assert grants_verified(channel=channel, auth=auth, via="link")  # the link is the credential
    assert grants_verified(channel=channel, auth=auth, via="card") is (
        channel is Channel.WIDGET and auth is AuthLevel.SESSION
    )
    assert grants_verified(channel=channel, auth=auth, via="sms_code") is (
        channel is Channel.SMS and auth is AuthLevel.VERIFIED_PHONE
    )
    for via in ("voice", "same_channel", "policy", ""):
        assert not grants_verified(channel=channel, auth=auth, via=via)


@pytest.mark.parametrize(
    ("declared", "intent_tier", "strongest"),
    [
        (ConsentTier.NONE, None, ConsentTier.NONE),
        (ConsentTier.NONE, ConsentTier.CONFIRM, ConsentTier.CONFIRM),
        (ConsentTier.CONFIRM, ConsentTier.NONE, ConsentTier.CONFIRM),
        (ConsentTier.CONFIRM, ConsentTier.VERIFIED, ConsentTier.VERIFIED),
        (ConsentTier.VERIFIED, ConsentTier.CONFIRM, ConsentTier.VERIFIED),
        (ConsentTier.VERIFIED, None, ConsentTier.VERIFIED),
        (ConsentTier.NONE, ConsentTier.NONE, ConsentTier.NONE),
    ],
)
def test_required_tier_is_the_stronger(
    declared: ConsentTier, intent_tier: ConsentTier | None, strongest: ConsentTier
) -> None:
    declaration = DECL.model_copy(update={"tier": declared})
    assert required_tier(declaration, intent_tier) is strongest


def test_is_voice() -> None:
    assert {c for c in Channel if is_voice(c)} == VOICE


def test_params_hash_binds_intent_params_and_declaration() -> None:
    params = {"service": "woocommerce", "store_url": "https://shop.example.com"}
    base = params_hash("setup_integration", params, DECL)
    assert base == params_hash("setup_integration", dict(reversed(list(params.items()))), DECL)  # order-free
    assert len(base) == 64
    assert base != params_hash("setup_integration", {**params, "store_url": "https://evil.example"}, DECL)
    assert base != params_hash("fix_integration", params, DECL)
    wider = ConsentDeclaration(**{**DECL.model_dump(), "permissions": (*DECL.permissions, "delete customers")})
    assert base != params_hash("setup_integration", params, wider)
