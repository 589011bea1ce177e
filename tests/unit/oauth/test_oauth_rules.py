"""Pure rules of account linking: redirect URI validation, scopes, the S256-only PKCE extension."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from core.errors import InputError
from gateway.oauth.records import parse_scope, validate_redirect_uri
from gateway.oauth.server import S256Only

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_rfc7636_appendix_b_vector() -> None:
    assert create_s256_code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == CHALLENGE


@pytest.mark.parametrize(
    "uri", ["https://pitangui.amazon.com/api/skill/link/X", "http://127.0.0.1:9/cb", "http://localhost/cb"]
)
def test_good_redirect_uris(uri: str) -> None:
    assert validate_redirect_uri(uri) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://x/cb",
        "http://example.com/cb",
        "https://x/cb#f",
        "https://*.x.com/",
        "/relative",
        "https://u@x/cb",
        "https://x/a b",
    ],
)
def test_bad_redirect_uris(uri: str) -> None:
    with pytest.raises(InputError):
        validate_redirect_uri(uri)


def test_scopes() -> None:
    assert parse_scope(None, ["voice"]) == "voice"
    assert parse_scope("voice", ["voice"]) == "voice"
    assert parse_scope("voice admin", ["voice"]) is None
    assert parse_scope("", []) is None


def _grant(**data: str) -> Any:
    payload = SimpleNamespace(data=data, datalist={k: [v] for k, v in data.items()})
    return SimpleNamespace(request=SimpleNamespace(payload=payload))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"code_challenge_method": "S256"},
        {"code_challenge": CHALLENGE},  # method absent would mean plain
        {"code_challenge": CHALLENGE, "code_challenge_method": "plain"},
        {"code_challenge": "short", "code_challenge_method": "S256"},
    ],
)
def test_s256_only_refuses(data: dict[str, str]) -> None:
    with pytest.raises(InvalidRequestError):
        S256Only(required=True).validate_code_challenge(_grant(**data), "https://x/cb")


def test_s256_only_accepts_s256() -> None:
    grant = _grant(code_challenge=CHALLENGE, code_challenge_method="S256")
    S256Only(required=True).validate_code_challenge(grant, "https://x/cb")  # no error
