"""`Retention.prune` on real SQLite and PostgreSQL: what is past its use goes, what is still in use stays."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.errors import AuthenticationRequired
from core.ports import RunStatus
from executor import schema as executor_schema
from gateway import sms_optouts
from gateway.bootstrap import build_container, schema_components
from gateway.callbacks.service import consumed_tokens
from gateway.db import create_schema
from gateway.identity import schema as identity
from gateway.identity.records import IdentityPolicy
from gateway.oauth import schema as oauth
from gateway.oauth.records import new_secret
from gateway.retention import Retention, RetentionPolicy, RetentionThread
from gateway.settings import Settings
from gateway.stores.conversations import conversations
from tests.fakes import FakeClock
from tests.integration.identity.identity_support import ListAudit, SmsOutbox, make_store
from tests.integration.oauth import test_oauth_store
from tests.integration.oauth.oauth_support import ALEXA_REDIRECT, make_oauth

DAY = timedelta(days=1)
TABLES = (
    "sms_inbound_messages",
    "oauth_codes",
    "oauth_tokens",
    "identity_sessions",
    "identity_login_codes",
    "identity_rate_events",
    "conversations",
    "consumed_callback_tokens",
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(engine: Engine) -> Engine:
    create_schema(engine, schema_components())
    return engine


def _retention(engine: Engine, clock: FakeClock, var_dir: Path, audit: Any = None, **policy: Any) -> Retention:
    return Retention(engine=engine, clock=clock, var_dir=var_dir, policy=RetentionPolicy(**policy), audit=audit)


def _keys(engine: Engine, column: sa.Column[Any]) -> set[Any]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(column)).scalars())


def _run(conn: sa.Connection, run_id: str, status: RunStatus, now: datetime) -> None:
    conn.execute(
        executor_schema.runs.insert().values(
            id=run_id,
            owner_id="own_1",
            recipe="woocommerce.setup",
            params="{}",
            params_hash="h",
            reply_channel="chat",
            status=status.value,
            created_at=now,
            updated_at=now,
        )
    )


def _seed(engine: Engine, now: datetime) -> None:
    """For every pruned table one row still in use ("keep…") and one past retention ("drop…")."""
    long_ago = now - 400 * DAY
    with engine.begin() as conn:
        conn.execute(
            sms_optouts.sms_inbound.insert(),
            [
                {"message_sid": "SMkeep", "received_at": now - 6 * DAY},
                {"message_sid": "SMdrop", "received_at": now - 8 * DAY},
            ],
        )
        conn.execute(
            identity.owners.insert().values(
                id="own_1", name="Acme", plan="free", locale="en-US", timezone="UTC", created_at=now, updated_at=now
            )
        )
        conn.execute(
            identity.people.insert().values(
                id="per_1", owner_id="own_1", name="Ada", email="ada@acme.test", role="owner", created_at=now
            )
        )
        conn.execute(
            oauth.clients.insert().values(
                id="cli_1",
                name="Alexa",
                secret_hash="x" * 64,
                redirect_uris=[ALEXA_REDIRECT],
                scopes="voice",
                created_at=now,
            )
        )
        code = {
            "client_id": "cli_1", "redirect_uri": ALEXA_REDIRECT, "scope": "voice", "owner_id": "own_1",
            "person_id": "per_1", "created_at": long_ago,
        }  # fmt: skip
        conn.execute(
            oauth.codes.insert(),
            [
                {**code, "id": "keep", "code_hash": "k" * 64, "expires_at": now - timedelta(hours=23)},
                {**code, "id": "drop", "code_hash": "d" * 64, "expires_at": now - 2 * DAY},
            ],
        )
        conn.execute(
            oauth.grants.insert().values(
                id="oag_1",
                code_id="drop",
                client_id="cli_1",
                owner_id="own_1",
                person_id="per_1",
                scope="voice",
                created_at=long_ago,
            )
        )
        token = {
            "grant_id": "oag_1", "created_at": long_ago, "access_expires_at": long_ago, "refresh_hash": None,
            "refresh_expires_at": None, "rotated_at": None,
        }  # fmt: skip
        conn.execute(
            oauth.tokens.insert(),
            [
                # rotated long ago, refresh still valid: kept for reuse detection
                {**token, "id": "keep", "access_hash": "a1" * 32, "refresh_hash": "r1" * 32,
                 "refresh_expires_at": now + 30 * DAY, "rotated_at": long_ago},
                # no refresh token, access expired only hours ago: kept (margin)
                {**token, "id": "keep2", "access_hash": "a2" * 32, "access_expires_at": now - timedelta(hours=2)},
                # refresh expired two days ago: nothing can use or reuse it
                {**token, "id": "drop", "access_hash": "a3" * 32, "refresh_hash": "r3" * 32,
                 "refresh_expires_at": now - 2 * DAY, "rotated_at": long_ago},
                # no refresh token, access expired long ago
                {**token, "id": "drop2", "access_hash": "a4" * 32},
            ],
        )  # fmt: skip
        session = {"person_id": "per_1", "method": "password", "created_at": long_ago}
        conn.execute(
            identity.sessions.insert(),
            [
                {**session, "id": "keep", "sid_hash": "k" * 64, "expires_at": now + timedelta(hours=1)},
                {**session, "id": "drop", "sid_hash": "d" * 64, "expires_at": now - 2 * DAY},
            ],
        )
        login = {"person_id": "per_1", "code_hash": "c" * 64, "created_at": long_ago}
        conn.execute(
            identity.login_codes.insert(),
            [
                {**login, "id": "keep", "expires_at": now - timedelta(minutes=5)},
                {**login, "id": "drop", "expires_at": now - 2 * DAY},
            ],
        )
        conn.execute(
            identity.rate_events.insert(),
            [
                {"id": 1, "key": "login:ip:1.2.3.4", "at": now - timedelta(hours=2)},
                {"id": 2, "key": "login:ip:1.2.3.4", "at": now - 2 * DAY},
            ],
        )
        conn.execute(
            conversations.insert(),
            [
                {"key": "keep", "body": "{}", "expires_at": now + timedelta(minutes=5)},
                {"key": "drop", "body": "{}", "expires_at": now - 2 * DAY},
            ],
        )
        _run(conn, "run_done", RunStatus.SUCCEEDED, long_ago)
        _run(conn, "run_waiting", RunStatus.WAITING_FOR_OWNER, long_ago)
        consumed = {"purpose": "wc-auth"}
        conn.execute(
            consumed_tokens.insert(),
            [
                # inside the token's life (its run finished only now): kept
                {**consumed, "digest": "keep", "run_id": "run_done", "consumed_at": now - DAY},
                # consumed long ago but its run still waits for the owner: the token would still work
                {**consumed, "digest": "keep_active", "run_id": "run_waiting", "consumed_at": long_ago},
                {**consumed, "digest": "drop", "run_id": "run_done", "consumed_at": now - 3 * DAY},
                {**consumed, "digest": "drop_gone", "run_id": "run_erased", "consumed_at": now - 3 * DAY},
            ],
        )


KEPT = {
    "sms_inbound_messages": (sms_optouts.sms_inbound.c.message_sid, {"SMkeep"}),
    "oauth_codes": (oauth.codes.c.id, {"keep"}),
    "oauth_tokens": (oauth.tokens.c.id, {"keep", "keep2"}),
    "identity_sessions": (identity.sessions.c.id, {"keep"}),
    "identity_login_codes": (identity.login_codes.c.id, {"keep"}),
    "identity_rate_events": (identity.rate_events.c.id, {1}),
    "conversations": (conversations.c.key, {"keep"}),
    "consumed_callback_tokens": (consumed_tokens.c.digest, {"keep", "keep_active"}),
}
DROPPED = {name: 1 for name in TABLES} | {"oauth_tokens": 2, "consumed_callback_tokens": 2}


def test_rows_past_retention_go_and_rows_in_use_stay(db: Engine, clock: FakeClock, tmp_path: Path) -> None:
    _seed(db, clock.now())
    retention = _retention(db, clock, tmp_path)
    before = {name: _keys(db, column) for name, (column, _) in KEPT.items()}

    dry = retention.prune(dry_run=True)
    assert dry.dry_run and dry.rows == DROPPED
    assert {name: _keys(db, column) for name, (column, _) in KEPT.items()} == before  # nothing deleted

    report = retention.prune()
    assert not report.dry_run and report.rows == dry.rows
    for name, (column, kept) in KEPT.items():
        assert _keys(db, column) == kept, name
    assert retention.prune().total == 0  # idempotent

    with db.connect() as conn:  # the journal is history: runs stay whatever happened to their tokens
        assert set(conn.execute(sa.select(executor_schema.runs.c.id)).scalars()) == {"run_done", "run_waiting"}


def test_a_consumed_token_outlives_its_run(db: Engine, clock: FakeClock, tmp_path: Path) -> None:
    _seed(db, clock.now())
    retention = _retention(db, clock, tmp_path)
    clock.advance(30 * 86400)
    retention.prune()
    assert _keys(db, consumed_tokens.c.digest) == {"keep_active"}  # its run still waits
    with db.begin() as conn:
        runs = executor_schema.runs
        conn.execute(runs.update().where(runs.c.id == "run_waiting").values(status=RunStatus.FAILED.value))
    assert retention.prune().rows["consumed_callback_tokens"] == 1
    assert _keys(db, consumed_tokens.c.digest) == set()


def test_batches_are_bounded(db: Engine, clock: FakeClock, tmp_path: Path) -> None:
    now = clock.now()
    with db.begin() as conn:
        conn.execute(
            identity.rate_events.insert(),
            [{"key": f"k{i}", "at": now - 2 * DAY} for i in range(10)] + [{"key": "fresh", "at": now}],
        )
    deletes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM IDENTITY_RATE_EVENTS"):
            deletes.append(statement)

    sa.event.listen(db, "before_cursor_execute", count)
    try:
        report = _retention(db, clock, tmp_path, batch_size=3).prune()
    finally:
        sa.event.remove(db, "before_cursor_execute", count)
    assert report.rows["identity_rate_events"] == 10
    assert len(deletes) == 4  # 3 + 3 + 3 + 1, each in its own transaction
    with db.connect() as conn:
        assert list(conn.execute(sa.select(identity.rate_events.c.key)).scalars()) == ["fresh"]


def test_rotated_refresh_tokens_stay_and_reuse_is_still_detected(
    engine: Engine, clock: FakeClock, tmp_path: Path
) -> None:
    audit = ListAudit()
    owners = make_store(engine, clock, audit, SmsOutbox(), IdentityPolicy())
    service = make_oauth(engine, clock, audit)
    create_schema(engine, schema_components())
    store = service.store
    owner = owners.create_owner(name="Acme", agent="test")
    person = owners.add_person(owner.id, name="Ada", email="ada@acme.test", agent="test")
    client = store.add_client(name="Alexa (linked before)", redirect_uris=[ALEXA_REDIRECT], agent="test").record
    ids = (owner.id, person.id)
    grant_id, _access, refresh = test_oauth_store._linked(store, client.id, ids)
    clock.advance(3 * 86400)  # the code and the first access token expired days ago
    assert store.claim_refresh(refresh, client.id) is not None  # rotation: `refresh` is used up, its row stays
    access2, refresh2 = new_secret("ooa_"), new_secret("oor_")
    store.issue_tokens(grant_id, grant_type="refresh_token", access_token=access2, refresh_token=refresh2)

    report = _retention(engine, clock, tmp_path).prune()
    assert report.rows["oauth_codes"] == 1  # expired more than a day ago
    assert report.rows["oauth_tokens"] == 0  # the rotated row's refresh expiry is a year away
    assert store.resolve_access_token(access2).owner_id == owner.id

    assert store.claim_refresh(refresh, client.id) is None  # reuse of the rotated refresh token …
    with pytest.raises(AuthenticationRequired):  # … still revokes the whole family
        store.resolve_access_token(access2)
    assert store.claim_refresh(refresh2, client.id) is None
    assert audit.last("oauth.refresh_reused").detail["grant_revoked"] == grant_id

    # and the existing rotation/reuse test passes on the pruned store
    test_oauth_store.test_refresh_rotation_and_family_revocation(store, ids, clock)


def _touch(path: Path, when: datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, (when.timestamp(), when.timestamp()))


def test_screenshot_folders_older_than_the_limit_go(clock: FakeClock, sqlite_engine: Engine, tmp_path: Path) -> None:
    create_schema(sqlite_engine, schema_components())
    now, runs = clock.now(), tmp_path / "var" / "runs"
    for name in ("01-login.png", "01-login.html", "02-keys.png"):
        _touch(runs / "run_old" / name, now - 31 * DAY)
    _touch(runs / "run_new" / "01-login.png", now - 29 * DAY)
    _touch(runs / "run_mixed" / "01-login.png", now - 90 * DAY)  # old run, but touched recently: kept whole
    _touch(runs / "run_mixed" / "02-keys.png", now - DAY)
    _touch(runs / "stray.png", now - 40 * DAY)
    for folder in ("run_old", "run_new", "run_mixed"):
        os.utime(runs / folder, ((now - 31 * DAY).timestamp(),) * 2)
    retention = _retention(sqlite_engine, clock, tmp_path / "var", screenshots=timedelta(days=30))

    dry = retention.prune(dry_run=True)
    assert (dry.screenshot_folders, dry.screenshot_files) == (1, 4)
    assert (runs / "run_old" / "02-keys.png").exists() and (runs / "stray.png").exists()

    report = retention.prune()
    assert (report.screenshot_folders, report.screenshot_files) == (1, 4)
    assert sorted(p.name for p in runs.iterdir()) == ["run_mixed", "run_new"]
    assert sorted(p.name for p in (runs / "run_mixed").iterdir()) == ["01-login.png", "02-keys.png"]


def test_screenshots_without_a_runs_folder(clock: FakeClock, sqlite_engine: Engine, tmp_path: Path) -> None:
    create_schema(sqlite_engine, schema_components())
    report = _retention(sqlite_engine, clock, tmp_path / "nothing-here").prune()
    assert (report.screenshot_folders, report.screenshot_files, report.total) == (0, 0, 0)


def test_one_audit_entry_per_real_prune_that_deleted_something(db: Engine, clock: FakeClock, tmp_path: Path) -> None:
    _seed(db, clock.now())
    audit = ListAudit()
    retention = _retention(db, clock, tmp_path, audit=audit)
    retention.prune(dry_run=True)
    assert audit.entries == []
    report = retention.prune(agent="maintenance:host-1:42")
    [entry] = audit.entries
    assert entry.action == "maintenance.pruned" and entry.owner_id is None and entry.success is True
    assert entry.agent == "maintenance:host-1:42"
    assert entry.detail == report.as_dict() and entry.detail["rows"] == DROPPED
    assert retention.prune().total == 0  # nothing left: logged, not audited (an hourly no-op would flood the log)
    assert [e.agent for e in audit.entries] == ["maintenance:host-1:42"]


def test_concurrent_prunes_on_postgres_both_succeed(pg_engine: Engine, clock: FakeClock, tmp_path: Path) -> None:
    create_schema(pg_engine, schema_components())
    now = clock.now()
    old = 1200
    with pg_engine.begin() as conn:
        conn.execute(
            identity.rate_events.insert(),
            [{"key": f"k{i}", "at": now - 2 * DAY} for i in range(old)] + [{"key": "fresh", "at": now}],
        )
        conn.execute(
            sms_optouts.sms_inbound.insert(),
            [{"message_sid": f"SM{i}", "received_at": now - 30 * DAY} for i in range(old)],
        )
    retentions = [_retention(pg_engine, clock, tmp_path, batch_size=50) for _ in range(2)]
    start = threading.Barrier(2)
    reports: list[Any] = [None, None]
    errors: list[BaseException] = []

    def prune(index: int) -> None:
        try:
            start.wait()
            reports[index] = retentions[index].prune()
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=prune, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for table in ("identity_rate_events", "sms_inbound_messages"):
        assert sum(r.rows[table] for r in reports) == old
    with pg_engine.connect() as conn:
        assert list(conn.execute(sa.select(identity.rate_events.c.key)).scalars()) == ["fresh"]
        assert conn.execute(sa.select(sa.func.count()).select_from(sms_optouts.sms_inbound)).scalar_one() == 0


def test_the_container_prunes_and_audits(tmp_path: Path) -> None:
    container = build_container(Settings(var_dir=tmp_path / "var", env="test"))
    try:
        with container.engine.begin() as conn:
            conn.execute(
                sms_optouts.sms_inbound.insert(),
                [
                    {"message_sid": "SMold", "received_at": datetime(2001, 1, 1, tzinfo=container.clock.now().tzinfo)},
                    {"message_sid": "SMnew", "received_at": container.clock.now()},
                ],
            )
        report = container.retention.prune()
        assert report.rows["sms_inbound_messages"] == 1
        assert _keys(container.engine, sms_optouts.sms_inbound.c.message_sid) == {"SMnew"}
        with container.engine.connect() as conn:
            bodies = [
                json.loads(b)
                for b in conn.execute(
                    sa.select(sa.text("body"))
                    .select_from(sa.text("audit_events"))
                    .where(sa.text("action = 'maintenance.pruned'"))
                ).scalars()
            ]
        [body] = bodies
        assert body["agent"] == "operator" and body["detail"] == report.as_dict()
    finally:
        container.close()


@pytest.fixture
def var_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    var = tmp_path / "var"
    monkeypatch.setenv("OMNIOPS_VAR_DIR", str(var))
    monkeypatch.setenv("OMNIOPS_ENV", "test")
    monkeypatch.setenv("OMNIOPS_LOG_JSON", "false")
    monkeypatch.delenv("OMNIOPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("OMNIOPS_REDIS_URL", raising=False)
    yield var


def test_cli_prune_dry_run_json(var_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main

    container = build_container(Settings(var_dir=var_env, env="test"))
    with container.engine.begin() as conn:
        conn.execute(
            sms_optouts.sms_inbound.insert().values(
                message_sid="SMold", received_at=datetime(2001, 1, 1, tzinfo=container.clock.now().tzinfo)
            )
        )
    _touch(var_env / "runs" / "run_1" / "01-login.png", datetime(2001, 1, 1, tzinfo=container.clock.now().tzinfo))
    os.utime(var_env / "runs" / "run_1", (datetime(2001, 1, 1).timestamp(),) * 2)
    container.close()

    assert main(["prune", "--dry-run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True
    assert set(out["rows"]) == set(TABLES) and out["rows"]["sms_inbound_messages"] == 1
    assert out["screenshots"] == {"folders": 1, "files": 1}
    assert (var_env / "runs" / "run_1" / "01-login.png").exists()

    assert main(["prune"]) == 0
    text = capsys.readouterr().out
    assert "sms_inbound_messages" in text and "deleted 1 rows" in text and "deleted 1 folders" in text
    assert not (var_env / "runs" / "run_1").exists()
    assert main(["prune", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"]["sms_inbound_messages"] == 0


def test_cli_prune_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["prune", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--dry-run" in out and "--json" in out and "never pruned" in out


class _CountingRetention:
    def __init__(self) -> None:
        self.agents: list[str] = []
        self.ran = threading.Event()

    def prune(self, *, dry_run: bool = False, agent: str = "operator") -> None:
        self.agents.append(agent)
        self.ran.set()


def test_the_periodic_pruner_waits_one_interval_first() -> None:
    fake = _CountingRetention()
    RetentionThread(fake, interval=3600).start().stop()  # type: ignore[arg-type]
    assert fake.agents == []


def test_the_periodic_pruner_prunes_as_maintenance() -> None:
    fake = _CountingRetention()
    pruner = RetentionThread(fake, interval=0.01).start()  # type: ignore[arg-type]
    try:
        assert fake.ran.wait(timeout=30)
    finally:
        pruner.stop()
    assert fake.agents[0].startswith("maintenance:") and fake.agents[0].count(":") == 2
