"""Helpers for the chat/SMS tests: an in-memory EventStream, a stand-in text parser, a test container.

The stand-in parser implements the same signature as the real NLU (``parse_text(text, locale) ->
(intent, params)``) for the handful of phrases the tests use; ``chat/nlu.py`` is written separately.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint

from core.commands import ReplyRoute
from core.events import RunEvent
from core.handlers import Services
from core.messagebus import MessageBus
from core.ports import Owner, RecipeInfo
from gateway.bootstrap import Container
from gateway.db import create_schema, make_engine
from gateway.notifier import SmsNotifier
from gateway.ratelimit import DEFAULT_RULES, MemoryBackend, RateLimiter, Rule
from gateway.settings import Settings
from gateway.sms_optouts import SCHEMA, SqlSmsOptOuts
from tests.fakes import (
    DECL,
    FakeAudit,
    FakeClock,
    FakeConsents,
    FakeConversations,
    FakeIds,
    FakeJournal,
    FakeOwners,
    FakeQueue,
    FakeRecipes,
    FakeReports,
    FakeVault,
)

OWNER = Owner(id="own_1", name="Acme Mugs", plan="ai_assisted", verified_phones=("+15550001111",))
PUBLIC_URL = "https://gw.example"
TWILIO_TOKEN = "twilio-test-auth-token-0123456789"
SECRET = "test-secret-key-" + "x" * 32


class MemoryEventStream:
    """`core.ports.EventStream` in memory. ``subscribe`` replays after ``after`` (``run:seq``), then follows new
    events; the iterator ends after ``idle_timeout`` seconds without one (consumers subscribe again)."""

    def __init__(self, *, idle_timeout: float = 1.0) -> None:
        self._log: list[RunEvent] = []
        self._cond = threading.Condition()
        self._idle = idle_timeout

    def publish(self, event: RunEvent) -> None:
        with self._cond:
            self._log.append(event)
            self._cond.notify_all()

    def _beyond(self, pos: int) -> Callable[[], bool]:
        return lambda: pos < len(self._log)

    def subscribe(self, owner_id: str, *, after: str | None = None) -> Iterator[RunEvent]:
        with self._cond:
            ids = [f"{e.run_id}:{e.seq}" for e in self._log]
        pos = ids.index(after) + 1 if after in ids else 0
        while True:
            with self._cond:
                if pos >= len(self._log) and not self._cond.wait_for(self._beyond(pos), self._idle):
                    return
                fresh, pos = self._log[pos:], len(self._log)
            for event in fresh:
                if event.owner_id == owner_id:
                    yield event


_SERVICES = ("woocommerce", "stripe", "shopify", "sendgrid", "mailchimp")


def stand_in_parse(text: str, locale: str) -> tuple[str, Mapping[str, Any]]:
    """A tiny stand-in for chat/nlu.py with the real signature."""
    t = text.lower().strip(" .!?")
    if t in ("yes", "yeah", "sure", "ok", "go ahead"):
        return "confirm", {}
    if t in ("no", "nope", "not now"):
        return "deny", {}
    if t in ("help", "what can you do"):
        return "help", {}
    if "status" in t:
        return "job_status", {}
    if "best seller" in t:
        return "store_report", {"report": "best_sellers"}
    m = re.search(r"(set up|connect|install)\b.*?\b(" + "|".join(_SERVICES) + r")", t)
    if m:
        return "setup_integration", {"service": m.group(2)}
    return "unknown", {}


def extract_param(intent: str, param: str, text: str, locale: str = "en-US") -> Any:
    if param == "store_url" and "." in text:
        return text.strip().split()[-1]
    return None


class RecordingSender:
    """An `SmsSender` that records instead of calling Twilio (the client itself is tested over HTTP)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_sms(self, *, to: str, body: str) -> str:
        self.sent.append((to, body))
        return f"SM{len(self.sent):032d}"


@dataclass
class ChatTestContainer(Container):
    """The real `Container` plus what the chat/SMS blueprints need (the lead wires these into bootstrap)."""

    bus: Any = None
    events: Any = None
    owners: Any = None
    parse_text: Any = None
    rate_limiter: Any = None
    sms_opt_outs: Any = None
    demo: bool = False
    demo_owner_id: str = OWNER.id
    fake_clock: Any = None
    services: Any = None
    sender: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def blueprints(self) -> list[Blueprint]:
        from gateway.blueprints import chat, ops, sms

        return [ops.bp, chat.bp, sms.bp]


def build_chat_container(
    tmp_path: Path,
    *,
    demo: bool = False,
    rules: Mapping[str, Rule] = DEFAULT_RULES,
    public_url: str = PUBLIC_URL,
) -> ChatTestContainer:
    """A container with a real MessageBus over fakes of the stores, a stub WooCommerce recipe, SQL opt-outs."""
    settings = Settings(
        var_dir=tmp_path,
        env="test",
        public_url=public_url,
        secret_key=SECRET,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_account_sid="AC" + "0" * 32,
        twilio_from="+15005550006",
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    create_schema(engine, components=[SCHEMA])
    clock, ids = FakeClock(), FakeIds()
    owners = FakeOwners({OWNER.id: OWNER})
    opt_outs = SqlSmsOptOuts(engine=engine)
    sender = RecordingSender()
    services = Services(
        clock=clock,
        ids=ids,
        owners=owners,
        consents=FakeConsents(clock, ids),
        journal=FakeJournal(clock, ids),
        queue=FakeQueue(),
        vault=FakeVault(),
        audit=FakeAudit(),
        notifier=SmsNotifier(sender=sender, owners=owners, opt_outs=opt_outs),
        recipes=FakeRecipes(
            {
                "setup_integration:woocommerce": RecipeInfo(
                    name="woocommerce_setup", declaration=DECL, required=("store_url",)
                )
            }
        ),
        reports=FakeReports(),
        conversations=FakeConversations(),
        extract_param=extract_param,
        public_url=public_url,
    )
    return ChatTestContainer(
        settings=settings,
        engine=engine,
        secret_key=SECRET,
        clock=clock,
        ids=ids,
        bus=MessageBus(services=services),
        events=MemoryEventStream(),
        owners=owners,
        parse_text=stand_in_parse,
        rate_limiter=RateLimiter(backend=MemoryBackend(), rules=rules),
        sms_opt_outs=opt_outs,
        demo=demo,
        fake_clock=clock,
        services=services,
        sender=sender,
    )


def run_event(run_id: str, seq: int, kind: str, message: str, owner_id: str = OWNER.id) -> RunEvent:
    from datetime import UTC, datetime

    return RunEvent(
        run_id=run_id,
        owner_id=owner_id,
        seq=seq,
        kind=kind,
        message=message,
        at=datetime(2026, 11, 26, 12, 0, seq, tzinfo=UTC),
    )


SMS_ROUTE = ReplyRoute(channel="sms", to=OWNER.verified_phones[0])
