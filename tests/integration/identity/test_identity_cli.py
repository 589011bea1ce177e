"""`omniops owners …` against a real SQLite store, and the demo seed."""

from __future__ import annotations

import argparse
import re
from types import SimpleNamespace

import pytest

from core.commands import AuthLevel
from core.errors import AuthenticationRequired
from core.ports import Plan
from gateway.identity.cli import register_cli, seed_demo_owner
from gateway.identity.store import SqlOwners
from tests.integration.identity.identity_support import ListAudit, SmsOutbox


@pytest.fixture
def run(lite_store: SqlOwners, capsys: pytest.CaptureFixture[str]):
    parser = argparse.ArgumentParser(prog="omniops")
    register_cli(parser.add_subparsers(dest="command", required=True), lambda args: SimpleNamespace(owners=lite_store))

    def _run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(list(argv))
        code = args.func(args)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def test_owner_create_list_show(run, lite_store: SqlOwners, audit: ListAudit) -> None:
    code, out, _ = run("owners", "create", "--name", "Acme", "--plan", "ai_assisted", "--email", "ann@acme.test")
    assert code == 0
    owner_id = re.search(r"owner (own_\S+)", out).group(1)  # type: ignore[union-attr]
    password = re.search(r"password \(shown once\): (\S+)", out).group(1)  # type: ignore[union-attr]
    assert lite_store.logins.login_password("ann@acme.test", password).owner_id == owner_id
    code, out, _ = run("owners", "list")
    assert code == 0 and owner_id in out and "ai_assisted" in out
    code, out, _ = run("owners", "show", owner_id)
    assert code == 0 and "ann@acme.test" in out and password not in out
    assert audit.last("identity.owner_created").agent == "operator:cli"


def test_phone_token_and_plan_commands(run, lite_store: SqlOwners, sms: SmsOutbox, audit: ListAudit) -> None:
    owner = lite_store.create_owner(name="Acme")
    code, out, _ = run("owners", "phone", "add", owner.id, "+15551230001")
    assert code == 0
    phone_id = re.search(r"phone (ph_\S+)", out).group(1)  # type: ignore[union-attr]
    code, out, _ = run("owners", "phone", "verify", owner.id, phone_id, sms.last_code("+15551230001"))
    assert code == 0 and "verified" in out
    assert lite_store.by_verified_phone("+15551230001") is not None

    code, out, _ = run("owners", "token", "create", owner.id, "--name", "Siri", "--scope", "siri")
    raw = re.search(r"secret \(shown once, store it now\): (oo_\S+)", out).group(1)  # type: ignore[union-attr]
    token_id = re.search(r"token (tok_\S+)", out).group(1)  # type: ignore[union-attr]
    assert lite_store.resolve_token(raw, "siri").auth is AuthLevel.TOKEN
    code, out, _ = run("owners", "token", "list", owner.id)
    assert code == 0 and token_id in out and raw not in out
    code, out, _ = run("owners", "token", "revoke", owner.id, token_id)
    assert code == 0
    with pytest.raises(AuthenticationRequired):
        lite_store.resolve_token(raw, "siri")

    code, out, _ = run("owners", "plan", "set", owner.id, "ai_assisted", "--addon", "custom_workflow")
    assert code == 0 and "custom_workflow" in out
    got = lite_store.get(owner.id)
    assert got is not None and got.plan is Plan.AI_ASSISTED
    assert "identity.plan_changed" in audit.actions()


def test_cli_refusals_exit_nonzero(run, lite_store: SqlOwners) -> None:
    a = lite_store.create_owner(name="A")
    b = lite_store.create_owner(name="B")
    tok = lite_store.create_token(b.id, name="b", scopes=["siri"])
    code, _, err = run("owners", "token", "revoke", a.id, tok.record.id)
    assert code == 1 and "No such token" in err
    code, _, err = run("owners", "show", "own_nope")
    assert code == 1 and "No such owner" in err
    code, _, err = run("owners", "phone", "add", a.id, "12")
    assert code == 1 and "phone number" in err


def test_every_command_has_help(run, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["owners"],
        ["owners", "create"],
        ["owners", "phone", "add"],
        ["owners", "phone", "verify"],
        ["owners", "token", "create"],
        ["owners", "token", "list"],
        ["owners", "token", "revoke"],
        ["owners", "plan", "set"],
        ["owners", "list"],
        ["owners", "show"],
    ):
        with pytest.raises(SystemExit) as exit_:
            run(*argv, "--help")
        assert exit_.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_seed_demo_owner_is_repeatable(lite_store: SqlOwners) -> None:
    first = seed_demo_owner(lite_store)
    owner = lite_store.get(first.owner_id)
    assert owner is not None and owner.plan is Plan.AI_ASSISTED and owner.verified_phones == (first.phone,)
    assert lite_store.logins.login_password(first.email, first.password).owner_id == first.owner_id
    assert lite_store.resolve_token(first.siri_token, "siri").owner_id == first.owner_id
    assert first.siri_token not in repr(first) and first.password not in repr(first)
    assert any(first.siri_token in line for line in first.lines())
    second = seed_demo_owner(lite_store)
    assert second.owner_id == first.owner_id and len(lite_store.list_owners()) == 1
    with pytest.raises(AuthenticationRequired):
        lite_store.resolve_token(first.siri_token, "siri")
    assert lite_store.logins.login_password(second.email, second.password).id
