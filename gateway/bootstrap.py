"""The composition root: the only module that knows concrete classes.

`build_container(settings)` builds, for one process, the engine and schema, the vault and audit log, the
identity, consent and conversation stores, the executor (journal, queue, event bus, runner, recipes), the NLU,
the notifiers, the channel adapters and the message bus. The gateway (`create_app`), the in-process worker
(`omniops run`) and `omniops worker` all start from it. Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.engine import Engine

from executor.journal import SystemClock, TokenIds
from gateway.db import create_schema, make_engine
from gateway.metrics import Metrics
from gateway.settings import Settings

log = logging.getLogger("omniops.bootstrap")


@dataclass
class Container:
    """Everything one process needs, built once by `build_container` (tests subclass it with fakes)."""

    settings: Settings
    engine: Engine
    secret_key: str
    metrics: Metrics = field(default_factory=Metrics)
    clock: SystemClock = field(default_factory=SystemClock)
    ids: TokenIds = field(default_factory=TokenIds)
    redis: Any = None
    # built by build_container (None in minimal test containers)
    vault_services: Any = None
    audit: Any = None
    owners: Any = None
    consents: Any = None
    conversations: Any = None
    catalog: Any = None
    schedules: Any = None
    reports: Any = None
    executor: Any = None
    journal: Any = None
    services: Any = None
    bus: Any = None
    events: Any = None
    parser: Any = None
    parse_text: Any = None
    rate_limiter: Any = None
    sms_opt_outs: Any = None
    notifier: Any = None
    callbacks: Any = None
    alexa: Any = None
    google: Any = None
    siri: Any = None
    oauth: Any = None
    wp_logins: Any = None
    retention: Any = None
    http: httpx.Client | None = None
    demo: bool = False
    demo_owner_id: str = "own_demo"
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def blueprints(self) -> list[Blueprint]:
        """One blueprint per concern, registered explicitly (no import side effects)."""
        from gateway.blueprints import chat, exports, ops, runs, sms, voice
        from gateway.callbacks import blueprint as callbacks
        from gateway.consent import blueprint as consent
        from gateway.identity import blueprint as identity
        from gateway.oauth import blueprint as oauth

        return [ops.bp, identity.bp, oauth.bp, exports.bp, consent.bp, runs.bp, chat.bp, sms.bp, voice.bp, callbacks.bp]

    def resolve_owner_token(self, raw: str, scope: str) -> Any:
        """Owner API / Siri bearer token → `Principal` (401 when unknown or revoked)."""
        return self.owners.resolve_token(raw, scope)

    def resolve_voice_token(self, raw: str | None) -> Any:
        """Alexa/Google account-linking access token → `Principal` (an unlinked principal when absent)."""
        from core.commands import Principal
        from core.errors import AuthenticationRequired

        if not raw:
            return Principal()
        if self.oauth is None:
            raise AuthenticationRequired("Account linking is not configured on this gateway.")
        return self.oauth.resolve_access_token(raw)

    def readiness(self) -> dict[str, tuple[bool, str]]:
        """Check each dependency; returns name -> (ok, detail)."""
        checks: dict[str, tuple[bool, str]] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("select 1"))
            checks["database"] = (True, self.engine.dialect.name)
        except Exception as err:  # any failure means not ready
            checks["database"] = (False, type(err).__name__)
        if self.settings.distributed:
            try:
                self.redis.ping()
                checks["redis"] = (True, "ok")
            except Exception as err:
                checks["redis"] = (False, type(err).__name__)
        return checks

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:
                log.exception("error while closing")
        self._closers.clear()
        self.engine.dispose()


def _secret_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this deployment won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    log.warning("generated a new session signing key", extra={"path": str(Path(path).resolve())})
    return key


def derive(secret_key: str, purpose: str) -> bytes:
    """A per-purpose key derived from the deployment secret (HMAC-SHA256)."""
    return hmac.new(secret_key.encode(), f"omniops:{purpose}".encode(), hashlib.sha256).digest()


def schema_components() -> list[tuple[str, int, Any]]:
    """Every component's tables, in one list (the schema is created from it)."""
    from executor import catalog, schedules
    from executor import schema as executor_schema
    from gateway import sms_optouts
    from gateway.callbacks import service as callbacks
    from gateway.consent import schema as consent_schema
    from gateway.identity import schema as identity_schema
    from gateway.oauth import schema as oauth_schema
    from gateway.stores import alexa_permissions, conversations
    from vault import schema as vault_schema

    return [
        identity_schema.SCHEMA,
        oauth_schema.SCHEMA,  # after identity: foreign keys to owners and people
        consent_schema.SCHEMA,
        conversations.SCHEMA,
        catalog.SCHEMA,
        executor_schema.SCHEMA,
        schedules.SCHEMA,
        vault_schema.SCHEMA,
        sms_optouts.SCHEMA,
        callbacks.SCHEMA,
        alexa_permissions.SCHEMA,
    ]


def build_container(settings: Settings, *, demo: bool = False) -> Container:
    """Build every store and service for ``settings`` and create the schema (idempotent)."""
    engine = make_engine(settings.resolved_database_url)
    create_schema(engine, schema_components())
    c = Container(settings=settings, engine=engine, secret_key=_secret_key(settings), demo=demo)
    try:
        _wire(c)
    except Exception:
        c.close()
        raise
    return c


def _wire(c: Container) -> None:
    from chat import nlu
    from core.handlers import Services
    from core.messagebus import MessageBus
    from executor.browser import LoginHandoff, WpAdminBrowser
    from executor.catalog import Catalog, SqlReports
    from executor.nonces import RunTokens
    from executor.providers.base import DEFAULT_TIMEOUT
    from executor.providers.stripe import API_BASE, CONNECT_BASE, StripeConnect
    from executor.recipe import RecipeRegistry
    from executor.recipes.fix import StripeFix, WooCommerceFix
    from executor.recipes.privacy import PrivacyDelete, PrivacyExport
    from executor.recipes.revoke import StripeRevoke, WooCommerceRevoke
    from executor.recipes.stripe import StripeSetup
    from executor.recipes.woocommerce import WooCommerceSetup
    from executor.recipes.workflows import WorkflowRecipes
    from executor.schedules import SqlSchedules
    from executor.worker import build_executor
    from gateway.adapters import FanOutNotifier, RunEventOnlyNotifier, VaultCredentialAccess
    from gateway.callbacks.service import CallbackService
    from gateway.consent.store import build_consent_store
    from gateway.events import JournalEventStream
    from gateway.identity.store import SqlOwners
    from gateway.notifier import build_sms_notifier
    from gateway.oauth.server import OAuthService
    from gateway.oauth.store import OAuthStore
    from gateway.privacy import OwnerData
    from gateway.ratelimit import build_rate_limiter
    from gateway.retention import Retention, RetentionPolicy
    from gateway.sms_optouts import SqlSmsOptOuts
    from gateway.stores.alexa_permissions import SqlAlexaPermissions
    from gateway.stores.conversations import SqlConversations
    from vault.services import build_vault
    from voice.alexa import build_alexa_adapter
    from voice.alexa.clients import ALEXA_API, LWA_TOKEN_URL, ProactiveEventsClient
    from voice.alexa.nudge import AlexaRunNudger
    from voice.google_assistant import build_google_adapter
    from voice.siri_shortcuts import SiriShortcutsAdapter

    s = c.settings
    if s.redis_url:
        import redis

        c.redis = redis.Redis.from_url(s.redis_url, socket_timeout=5)
        c._closers.append(c.redis.close)
    c.http = httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
    c._closers.append(c.http.close)

    root_key = _root_key_file(s)
    c.vault_services = build_vault(
        c.engine,
        root_key_file=root_key,
        create_root_key=s.vault_root_key_file is None and s.vault_root_key is None,
        rotation_days=s.vault_rotation_days,
        ids=c.ids,
    )
    c.audit = c.vault_services.audit
    c.sms_opt_outs = SqlSmsOptOuts(engine=c.engine)
    sms = _sms_sender(s)
    c.owners = SqlOwners(c.engine, c.clock, c.ids, c.audit, send_sms=sms)
    c.oauth = OAuthService(OAuthStore(c.engine, c.clock, c.ids, c.audit))
    c.consents = build_consent_store(c.engine, clock=c.clock, ids=c.ids, secret_key=c.secret_key)
    c.conversations = SqlConversations(c.engine, clock=c.clock)
    c.catalog = Catalog(c.engine, clock=c.clock)
    c.reports = SqlReports(c.engine, clock=c.clock)
    sms_notifier = build_sms_notifier(settings=s, owners=c.owners, opt_outs=c.sms_opt_outs)
    notifiers: list[Any] = [sms_notifier] if sms_notifier is not None else []
    alexa_permissions = SqlAlexaPermissions(c.engine, clock=c.clock)
    if s.alexa_client_id and s.alexa_client_secret is not None:
        alexa_base = s.provider_url("alexa_api") or ALEXA_API
        lwa_base = s.provider_url("lwa")
        events_client = ProactiveEventsClient(
            client_id=s.alexa_client_id,
            client_secret=s.alexa_client_secret.get_secret_value(),
            client=c.http,
            api_base=alexa_base,
            token_url=f"{lwa_base.rstrip('/')}/auth/o2/token" if lwa_base else LWA_TOKEN_URL,
        )
        nudger = AlexaRunNudger(client=events_client, notifications_granted=alexa_permissions.granted)
        notifiers.append(RunEventOnlyNotifier(nudger.run_event))
    c.notifier = FanOutNotifier(notifiers)

    tokens = RunTokens(derive(c.secret_key, "run-tokens"))
    webhook_key = derive(c.secret_key, "woocommerce-webhooks")

    def webhook_secret(owner_id: str) -> str:
        return hmac.new(webhook_key, owner_id.encode(), hashlib.sha256).hexdigest()

    recipes = RecipeRegistry()
    c.wp_logins = LoginHandoff()  # "sign in for me": the owner's wp-admin login, in memory, used once
    wp_browser = WpAdminBrowser(artifacts_dir=s.var_dir / "runs")
    woo_setup = WooCommerceSetup(
        public_url=s.public_url,
        tokens=tokens,
        catalog=c.catalog,
        clock=c.clock,
        webhook_secret=webhook_secret,
        handoff=c.wp_logins,
        browser=wp_browser,
    )
    recipes.add(woo_setup.recipe())
    recipes.add(WooCommerceFix(setup=woo_setup).recipe())
    woo_revoke = WooCommerceRevoke(public_url=s.public_url, catalog=c.catalog, handoff=c.wp_logins, browser=wp_browser)
    recipes.add(woo_revoke.recipe())
    stripe_revoke: StripeRevoke | None = None
    stripe_connect: StripeConnect | None = None
    if s.stripe_client_id and s.stripe_secret_key is not None:
        stripe_connect = StripeConnect(
            c.http,
            client_id=s.stripe_client_id,
            platform_secret_key=s.stripe_secret_key.get_secret_value(),
            connect_base=s.stripe_connect_base_url or s.stripe_base_url or CONNECT_BASE,
        )
        stripe_setup = StripeSetup(
            public_url=s.public_url, tokens=tokens, connect=stripe_connect, api_base=s.stripe_base_url or API_BASE
        )
        recipes.add(stripe_setup.recipe())
        recipes.add(StripeFix(setup=stripe_setup).recipe())
        stripe_revoke = StripeRevoke(
            public_url=s.public_url, connect=stripe_connect, api_base=s.stripe_base_url or API_BASE
        )
        recipes.add(stripe_revoke.recipe())
    owner_data = OwnerData(
        engine=c.engine, privacy=c.vault_services.privacy, catalog=c.catalog, owners=c.owners, oauth=c.oauth
    )
    recipes.add(
        PrivacyExport(public_url=s.public_url, exports_dir=s.var_dir / "exports", export=owner_data.export).recipe()
    )
    recipes.add(PrivacyDelete(woocommerce=woo_revoke, stripe=stripe_revoke, erase=owner_data.erase).recipe())
    c.schedules = SqlSchedules(c.engine, clock=c.clock, ids=c.ids)
    for recipe in WorkflowRecipes(
        schedules=c.schedules, reports=c.reports, owners=c.owners, grants=c.consents, audit=c.audit, clock=c.clock
    ).recipes():
        recipes.add(recipe)
    c.executor = build_executor(
        engine=c.engine,
        clock=c.clock,
        ids=c.ids,
        recipes=recipes,
        redis_url=s.redis_url,
        queue_path=s.var_dir / "queue.db",
        lease_seconds=s.worker_lease_seconds,
        consents=c.consents,
        audit=c.audit,
        credentials=VaultCredentialAccess(c.vault_services.vault),
        notifier=c.notifier,
        http=c.http,
        schedules=c.schedules,
        owners=c.owners,
        tell_owner=sms_notifier.tell_owner if sms_notifier is not None else None,
    )
    c.journal = c.executor.journal
    c._closers.append(c.executor.bus.close if hasattr(c.executor.bus, "close") else (lambda: None))

    c.parser = nlu.build_parser(
        s.openai_api_key.get_secret_value() if s.openai_api_key is not None else None, s.openai_base_url
    )

    def parse_text(text_: str, locale: str) -> tuple[str, dict[str, Any]]:
        result = c.parser.parse(text_, locale=locale)
        return result.intent, dict(result.params)

    c.parse_text = parse_text
    c.services = Services(
        clock=c.clock,
        ids=c.ids,
        owners=c.owners,
        consents=c.consents,
        journal=c.journal,
        queue=c.executor.queue,
        vault=c.vault_services.vault,
        audit=c.audit,
        notifier=c.notifier,
        recipes=recipes,
        reports=c.reports,
        conversations=c.conversations,
        extract_param=nlu.extract_param,
        public_url=s.public_url,
        consent_ttl_seconds=s.consent_ttl_seconds,
        schedules=c.schedules,
    )
    c.bus = MessageBus(services=c.services)
    c.events = JournalEventStream(c.engine, clock=c.clock)
    c.rate_limiter = build_rate_limiter(redis_client=c.redis)
    c.callbacks = CallbackService(
        engine=c.engine,
        clock=c.clock,
        tokens=tokens,
        journal=c.journal,
        resume=c.executor.runner.resume,
        store_credential=lambda owner, service, label, secret: (
            c.vault_services.vault.put(owner, service, label, secret).id
        ),
        catalog=c.catalog,
        webhook_secret=webhook_secret,
        stripe_connect=stripe_connect,
        wp_logins=c.wp_logins,
        step_output=lambda run_id, step_id: _step_output(c, run_id, step_id),
    )
    c.alexa = (
        build_alexa_adapter(
            skill_id=s.alexa_skill_id,
            ca_bundle=s.alexa_ca_bundle,
            cert_mirror=s.alexa_cert_mirror,
            env=s.env,
            on_skill_event=alexa_permissions.on_skill_event,
        )
        if s.alexa_skill_id
        else None
    )
    c.google = build_google_adapter(project_id=s.google_project_id) if s.google_project_id else None
    c.siri = SiriShortcutsAdapter(text_parser=parse_text)
    c.retention = Retention(
        engine=c.engine,
        clock=c.clock,
        var_dir=s.var_dir,
        policy=RetentionPolicy(
            sms_dedupe=timedelta(days=s.retention_sms_dedupe_days),
            screenshots=timedelta(days=s.retention_screenshot_days),
        ),
        audit=c.audit,
    )


def _step_output(c: Container, run_id: str, step_id: str) -> dict[str, Any]:
    """One step's journaled output ({} when the step has no row yet)."""
    row = c.journal.step_rows(run_id).get(step_id)
    return dict(row.output) if row is not None else {}


def _root_key_file(s: Settings) -> Path:
    """The vault root key file: ``VAULT_ROOT_KEY_FILE``, else one materialized from ``VAULT_ROOT_KEY`` (a Tink
    JSON keyset in the environment, written once with mode 0600), else the embedded default under ``var/``."""
    if s.vault_root_key_file is not None:
        return s.vault_root_key_file
    path = s.var_dir / "vault-root-key.json"
    if s.vault_root_key is None:
        return path
    value = s.vault_root_key.get_secret_value()
    if path.exists():  # a rotation since may have added versions: the file wins, never the older env copy
        if path.read_text() != value:
            log.warning("OMNIOPS_VAULT_ROOT_KEY differs from %s; using the file (it may hold a rotated key)", path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return path


def _sms_sender(s: Settings) -> Callable[[str, str], Any] | None:
    """`send_sms(to, body)` through Twilio when configured (identity's phone codes), else None."""
    from chat.twilio_client import BASE_URL, TwilioClient

    if not (s.twilio_account_sid and s.twilio_auth_token is not None and s.twilio_from):
        return None
    client = TwilioClient(
        account_sid=s.twilio_account_sid,
        auth_token=s.twilio_auth_token.get_secret_value(),
        from_number=s.twilio_from,
        base_url=s.provider_url("twilio") or BASE_URL,
    )
    return lambda to, body: client.send_sms(to=to, body=body)
