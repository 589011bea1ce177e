"""Pure identity helpers: token format and hashing, scopes, phone numbers, passwords, plans."""

from __future__ import annotations

import hashlib

import pytest

from core.errors import InputError
from core.ports import Addon
from gateway.identity.base import code_hash, codes_match, new_code
from gateway.identity.logins import normalize_email
from gateway.identity.passwords import Passwords
from gateway.identity.phones import mask_phone, normalize_phone
from gateway.identity.plans import parse_addons
from gateway.identity.records import Scope
from gateway.identity.tokens import hash_token, looks_like_token, new_raw_token, parse_scopes


def test_tokens_are_random_prefixed_and_hashed() -> None:
    a, b = new_raw_token(), new_raw_token()
    assert a != b and a.startswith("oo_") and looks_like_token(a)
    assert hash_token(a) == hashlib.sha256(a.encode()).hexdigest()
    assert not looks_like_token(a + "x") and not looks_like_token("oo_" + "!" * 43)


def test_scopes() -> None:
    assert parse_scopes(["chat", "siri", "siri", " "]) == (Scope.SIRI, Scope.CHAT)
    with pytest.raises(InputError):
        parse_scopes(["root"])
    with pytest.raises(InputError):
        parse_scopes([])


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 (555) 123-4567", "+15551234567"),
        ("5551234567", "+15551234567"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+49.30.1234567", "+49301234567"),
    ],
)
def test_normalize_phone(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12", "+0123456789", "call me", "+1555123456789012"])
def test_normalize_phone_refuses(raw: str) -> None:
    with pytest.raises(InputError):
        normalize_phone(raw)


def test_mask_phone() -> None:
    assert mask_phone("+15551234567") == "+1••••••4567"


def test_codes() -> None:
    codes = {new_code() for _ in range(50)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 40
    stored = code_hash("ph_1", "123456")
    assert codes_match(stored, "ph_1", " 123456 ") and not codes_match(stored, "ph_2", "123456")
    assert not codes_match(None, "ph_1", "123456") and stored != code_hash("ph_2", "123456")


def test_passwords() -> None:
    pw = Passwords(time_cost=1, memory_cost=1024, parallelism=1)
    stored = pw.hash("long enough password")
    assert stored.startswith("$argon2id$") and pw.verify(stored, "long enough password")
    assert not pw.verify(stored, "wrong password!") and not pw.verify(None, "long enough password")
    assert not pw.verify("not a hash", "x") and not pw.verify(stored, "x" * 1000)
    with pytest.raises(ValueError):
        pw.hash("short")


def test_emails_and_addons() -> None:
    assert normalize_email("  Ann@Example.COM ") == "ann@example.com"
    for bad in ("ann", "ann@localhost", "a b@example.com", "@example.com"):
        with pytest.raises(InputError):
            normalize_email(bad)
    assert parse_addons(["optimization", "custom_workflow"]) == (Addon.CUSTOM_WORKFLOW, Addon.OPTIMIZATION)
    with pytest.raises(InputError):
        parse_addons(["gold"])
