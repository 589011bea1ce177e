"""Consent policy: pure functions deciding how strong a yes a command needs, and how to get it.

Tiers (ARCHITECTURE.md §3): ``none`` runs at once; ``confirm`` needs a yes on the same authenticated
channel; ``verified`` needs an out-of-band or logged-in act (a POST on a single-use link, the consent
card in a logged-in widget session, or ``YES <code>`` by SMS from the owner's verified phone). A voice
yes alone never grants ``verified``: anyone in the room can say it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from core.commands import AuthLevel, Channel
from core.intents import ConsentTier
from core.ports import ConsentDeclaration


class ConsentMethod(StrEnum):
    """How the owner's yes will be collected."""

    NONE = "none"  # nothing to ask: run now
    SAME_CHANNEL_YES = "same_channel_yes"  # Alexa Dialog.ConfirmIntent, chat button, "YES" by SMS
    SESSION_CARD = "session_card"  # consent card in a logged-in widget session (plus the link)
    SMS_CODE = "sms_code"  # reply "YES <code>" from the verified phone (plus the link)
    LINK = "link"  # a single-use link texted to the owner's verified phone


_VOICE = frozenset({Channel.ALEXA, Channel.GOOGLE, Channel.SIRI})


def required_tier(declaration: ConsentDeclaration, intent_tier: ConsentTier | None) -> ConsentTier:
    """The stronger of the intent's tier and the recipe's declared tier."""
    order = [ConsentTier.NONE, ConsentTier.CONFIRM, ConsentTier.VERIFIED]
    tiers = [declaration.tier] + ([intent_tier] if intent_tier is not None else [])
    return max(tiers, key=order.index)


def method_for(tier: ConsentTier, *, channel: Channel, auth: AuthLevel) -> ConsentMethod:
    """Decide how to collect consent of ``tier`` for a command arriving on ``channel`` with ``auth``."""
    if tier is ConsentTier.NONE:
        return ConsentMethod.NONE
    if tier is ConsentTier.CONFIRM:
        if auth is AuthLevel.ANONYMOUS:
            return ConsentMethod.LINK
        return ConsentMethod.SAME_CHANNEL_YES
    # verified
    if channel is Channel.WIDGET and auth is AuthLevel.SESSION:
        return ConsentMethod.SESSION_CARD
    if channel is Channel.SMS and auth is AuthLevel.VERIFIED_PHONE:
        return ConsentMethod.SMS_CODE
    return ConsentMethod.LINK


def grants_verified(*, channel: Channel, auth: AuthLevel, via: str) -> bool:
    """Whether a decision act may grant a ``verified`` request.

    ``via`` is ``link`` (POST on the consent page), ``card`` (widget card), ``sms_code`` or ``voice``.
    """
    if via == "link":
        return True
    if via == "card":
        return channel is Channel.WIDGET and auth is AuthLevel.SESSION
    if via == "sms_code":
        return channel is Channel.SMS and auth is AuthLevel.VERIFIED_PHONE
    return False


def is_voice(channel: Channel) -> bool:
    return channel in _VOICE


def params_hash(intent: str, params: Mapping[str, Any], declaration: ConsentDeclaration) -> str:
    """SHA-256 over the canonical JSON of intent, params and declaration: what exactly was approved."""
    canonical = json.dumps(
        {"intent": intent, "params": dict(params), "declaration": declaration.model_dump(mode="json")},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
