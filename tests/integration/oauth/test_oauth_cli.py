"""`omniops oauth client …` through the real argparse hook against a real SQLite store."""

from __future__ import annotations

import argparse
import json
import re
from types import SimpleNamespace

import pytest
from sqlalchemy.engine import Engine

from gateway.oauth.cli import register_cli
from gateway.oauth.server import OAuthService
from tests.integration.identity.identity_support import ListAudit, MutableClock
from tests.integration.oauth.oauth_support import ALEXA_REDIRECT, make_oauth

OTHER = "https://layla.amazon.com/api/skill/link/M2AAAAAAAAAAAA"


@pytest.fixture
def service(sqlite_engine: Engine, clock: MutableClock, audit: ListAudit) -> OAuthService:
    return make_oauth(sqlite_engine, clock, audit)


def run(service: OAuthService, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="omniops")
    sub = parser.add_subparsers(dest="command", required=True)
    closed: list[bool] = []
    register_cli(sub, lambda args: SimpleNamespace(oauth=service, close=lambda: closed.append(True)))
    args = parser.parse_args(list(argv))
    code: int = args.func(args)
    assert closed == [True]
    return code


def test_add_prints_id_and_secret_once(service: OAuthService, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            service,
            "oauth",
            "client",
            "add",
            "--name",
            "Alexa",
            "--redirect-uri",
            ALEXA_REDIRECT,
            "--redirect-uri",
            OTHER,
        )
        == 0
    )
    out = capsys.readouterr().out
    client_id = re.search(r"client_id:\s+(\S+)", out)
    secret = re.search(r"client_secret:\s+(\S+)", out)
    assert client_id and secret
    assert service.store.check_client_secret(client_id.group(1), secret.group(1))
    [client] = service.store.list_clients()
    assert client.redirect_uris == (ALEXA_REDIRECT, OTHER)

    assert run(service, "oauth", "client", "list", "--json") == 0
    listed = capsys.readouterr().out
    assert json.loads(listed)[0]["client_id"] == client_id.group(1)
    assert secret.group(1) not in listed

    assert run(service, "oauth", "client", "disable", client_id.group(1)) == 0
    assert service.store.get_client(client_id.group(1)) is None


def test_bad_redirect_uri_is_refused(service: OAuthService, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(service, "oauth", "client", "add", "--name", "Alexa", "--redirect-uri", "https://*.amazon.com/") == 1
    assert "wildcard" in capsys.readouterr().err
    assert service.store.list_clients() == []


def test_add_without_pkce(service: OAuthService, capsys: pytest.CaptureFixture[str]) -> None:
    uri = "https://oauth-redirect.googleusercontent.com/r/home"
    assert run(service, "oauth", "client", "add", "--name", "Google Home", "--redirect-uri", uri, "--no-pkce") == 0
    assert "optional (enforced when sent)" in capsys.readouterr().out
    [client] = service.store.list_clients()
    assert client.pkce_required is False
