"""The intent registry: the single source of truth for what an owner can ask.

Every intent of ARCHITECTURE.md §3 is declared once here with its params model (pydantic, normalizing),
its consent tier, the params that must be elicited before it can run, and en-US sample utterances. The
rule-based NLU, the Alexa/Google interaction models, the OpenAI tool schemas and the help text are all
generated from this module; nothing else lists intents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ConsentTier(StrEnum):
    """How strong a yes an intent needs before anything runs."""

    NONE = "none"
    CONFIRM = "confirm"
    VERIFIED = "verified"


class Service(StrEnum):
    WOOCOMMERCE = "woocommerce"
    STRIPE = "stripe"
    SHOPIFY = "shopify"
    SENDGRID = "sendgrid"
    MAILCHIMP = "mailchimp"
    GOOGLE_ANALYTICS = "google_analytics"
    FACEBOOK_PIXEL = "facebook_pixel"
    WIDGET = "widget"


class Platform(StrEnum):
    WOOCOMMERCE = "woocommerce"
    SHOPIFY = "shopify"


class MigrationSystem(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    STRIPE = "stripe"
    PAYPAL = "paypal"


class Report(StrEnum):
    BEST_SELLERS = "best_sellers"
    SALES_SUMMARY = "sales_summary"
    LOW_STOCK = "low_stock"


class Task(StrEnum):
    SALES_REPORT = "sales_report"
    RESTOCK_LOW_INVENTORY = "restock_low_inventory"


class Workflows(StrEnum):
    """``revoke_access`` targets besides services: the owner's scheduled workflows (standing consents)."""

    ALL = "schedules"  # every scheduled workflow; a task name (sales_report, …) stops the ones doing that task


Period = Literal["today", "yesterday", "this_week", "last_week", "this_month", "last_month", "last_30_days"]

#: Spoken/typed names for each enum value (lower case). The NLU and the voice slot types use these.
SERVICE_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    Service.WOOCOMMERCE: (
        "woocommerce",
        "woo commerce",
        "woo",
        "wordpress store",
        "wordpress shop",
        "wordpress",
        "wc",
    ),
    Service.STRIPE: ("stripe", "stripe payments", "card payments", "payments"),
    Service.SHOPIFY: ("shopify", "shopify store", "shop ify"),
    Service.SENDGRID: ("sendgrid", "send grid", "transactional email", "email sending"),
    Service.MAILCHIMP: ("mailchimp", "mail chimp", "newsletter", "email marketing"),
    Service.GOOGLE_ANALYTICS: ("google analytics", "analytics", "ga4", "ga 4", "ga"),
    Service.FACEBOOK_PIXEL: ("facebook pixel", "meta pixel", "fb pixel", "pixel", "facebook", "meta"),
    Service.WIDGET: ("widget", "chat widget", "omniops widget", "chat bubble", "live chat"),
}
MIGRATION_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    MigrationSystem.SHOPIFY: ("shopify",),
    MigrationSystem.WOOCOMMERCE: ("woocommerce", "woo commerce", "woo", "wordpress"),
    MigrationSystem.STRIPE: ("stripe",),
    MigrationSystem.PAYPAL: ("paypal", "pay pal"),
}
REPORT_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    Report.BEST_SELLERS: (
        "best sellers",
        "best selling",
        "bestsellers",
        "top products",
        "top sellers",
        "most popular",
        "selling best",
        "sells best",
        "sold the most",
        "biggest sellers",
        "top selling",
    ),
    Report.SALES_SUMMARY: (
        "sales summary",
        "sales",
        "revenue",
        "how much did i sell",
        "how much i sold",
        "sales report",
        "takings",
        "how much money",
        "earnings",
        "income",
        "turnover",
    ),
    Report.LOW_STOCK: (
        "low stock",
        "running low",
        "running out",
        "low inventory",
        "low on stock",
        "low on inventory",
        "out of stock",
        "restock",
        "stock levels",
        "is low",
        "are low",
    ),
}
TASK_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    Task.SALES_REPORT: ("sales report", "sales summary", "report", "sales numbers", "revenue report"),
    Task.RESTOCK_LOW_INVENTORY: ("restock", "reorder", "low inventory", "low stock", "replenish"),
}
WORKFLOW_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    Workflows.ALL: (
        "schedules",
        "schedule",
        "scheduled work",
        "scheduled workflows",
        "scheduled workflow",
        "scheduled tasks",
        "scheduled jobs",
        "recurring work",
        "recurring tasks",
        "recurring jobs",
        "standing consent",
        "standing consents",
        "workflows",
        "workflow",
        "automations",
    ),
}
#: The ``revoke_access`` values that name scheduled work (every schedule, or the schedules doing one task).
WORKFLOW_TARGETS: frozenset[str] = frozenset({Workflows.ALL.value, *(task.value for task in Task)})
#: What ``revoke_access`` may name: a service, every scheduled workflow, or the workflows doing one task.
REVOKE_TARGET_SYNONYMS: Mapping[str, tuple[str, ...]] = {**SERVICE_SYNONYMS, **WORKFLOW_SYNONYMS, **TASK_SYNONYMS}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SCHEDULE_RE = re.compile(r"^every (day|week|" + "|".join(WEEKDAYS) + r")( at ([01]\d|2[0-3]):[0-5]\d)?$")
_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


def normalize_store_url(value: str) -> str:
    """Normalize a store address to ``scheme://host[:port][/path]``.

    A bare host becomes ``https://host``; host is lower-cased; query, fragment, user info and a trailing
    slash are dropped. An explicit ``http://`` is kept (the recipe warns about it) and so is a path,
    because WordPress may live in a sub-folder. Raises ``ValueError`` for anything that is not a URL.
    """
    raw = value.strip().strip("<>\"'")
    if not raw:
        raise ValueError("store address is empty")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("store address must be a web address (https://…)")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or not (_HOST_RE.match(host) or _is_ip(host)):
        raise ValueError(f"{value!r} is not a valid store address")
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/")
    return f"{parts.scheme.lower()}://{host}{port}{path}"


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def normalize_schedule(value: str) -> str:
    """Validate an already-normalized schedule (``every monday at 09:00``); the NLU does the phrasing."""
    text = " ".join(value.lower().split())
    if not _SCHEDULE_RE.match(text):
        raise ValueError("schedule must look like 'every day', 'every week' or 'every monday', optionally ' at HH:MM'")
    return text


class Params(BaseModel):
    """Base of every intent's params: frozen, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True)


class NoParams(Params):
    pass


class SetupIntegrationParams(Params):
    service: Service | None = None
    store_url: str | None = Field(default=None, max_length=300)

    @field_validator("store_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else normalize_store_url(v)


class SetupStoreParams(Params):
    platform: Platform | None = None
    store_url: str | None = Field(default=None, max_length=300)

    @field_validator("store_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        return None if v is None else normalize_store_url(v)


class MigrateStoreParams(Params):
    source: MigrationSystem | None = None
    target: MigrationSystem | None = None


class ScheduleWorkflowParams(Params):
    schedule: str | None = Field(default=None, max_length=40)
    tasks: tuple[Task, ...] | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str | None) -> str | None:
        return None if v is None else normalize_schedule(v)

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: tuple[Task, ...] | None) -> tuple[Task, ...] | None:
        if v is None:
            return None
        if not v:
            raise ValueError("at least one task")
        return tuple(sorted(set(v), key=list(Task).index))


class StoreReportParams(Params):
    report: Report | None = None
    period: Period | None = None


class RunRefParams(Params):
    run_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ServiceParams(Params):
    service: Service | None = None


class RevokeParams(Params):
    """``revoke_access``: a service (disconnect it), ``schedules`` (stop every scheduled workflow and revoke its
    standing consent) or a task name (stop the scheduled workflows doing that task)."""

    service: Service | Workflows | Task | None = None


@dataclass(frozen=True)
class IntentSpec:
    """One intent: name, params model, consent tier, what to elicit, and sample utterances."""

    name: str
    params: type[Params]
    tier: ConsentTier | None
    summary: str
    utterances: tuple[str, ...]
    required: tuple[str, ...] = ()
    prompts: Mapping[str, str] = field(default_factory=dict)
    autonomous: bool = False  # performs third-party actions through the executor

    def validate_params(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and normalize raw params; returns a JSON-ready dict without unset values."""
        model = self.params.model_validate(dict(data))
        return model.model_dump(mode="json", exclude_none=True)

    def missing(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The required params not yet given, in elicitation order."""
        return tuple(p for p in self.required if params.get(p) in (None, "", ()))


_SPECS: tuple[IntentSpec, ...] = (
    IntentSpec(
        name="setup_integration",
        params=SetupIntegrationParams,
        tier=ConsentTier.VERIFIED,
        autonomous=True,
        summary="Connect and configure one service (WooCommerce, Stripe, Shopify, SendGrid, Mailchimp, "
        "Google Analytics, Meta Pixel or the OmniOps widget).",
        required=("service",),
        prompts={
            "service": "Which service should I set up? For example WooCommerce, Stripe or Google Analytics.",
            "store_url": "What is your store's address?",
        },
        utterances=(
            "set up my WooCommerce store",
            "connect Stripe",
            "set up Stripe payments",
            "install google analytics on my store",
            "add the meta pixel",
            "hook up mailchimp",
            "connect my shopify store mystore.myshopify.com",
            "integrate sendgrid for my emails",
            "set up WooCommerce at shop.example.com",
            "install the chat widget",
            "can you connect GA4",
            "please link my facebook pixel",
        ),
    ),
    IntentSpec(
        name="setup_store",
        params=SetupStoreParams,
        tier=ConsentTier.VERIFIED,
        autonomous=True,
        summary="Set up the whole store: platform, payments, email, analytics and the widget.",
        prompts={
            "platform": "Which platform is your store on: WooCommerce or Shopify?",
            "store_url": "What is your store's address?",
        },
        utterances=(
            "set up my store",
            "set up everything",
            "do the complete store setup",
            "set up my whole shop",
            "get my store ready",
            "onboard my shopify store",
            "set up my woocommerce shop from scratch",
            "configure my entire store",
            "full setup please",
        ),
    ),
    IntentSpec(
        name="migrate_store",
        params=MigrateStoreParams,
        tier=ConsentTier.VERIFIED,
        autonomous=True,
        summary="Move products, customers and orders from one platform to another.",
        required=("source", "target"),
        prompts={
            "source": "Which platform are you moving from?",
            "target": "Which platform are you moving to?",
        },
        utterances=(
            "migrate from shopify to woocommerce",
            "move my store from woocommerce to shopify",
            "switch from paypal to stripe",
            "transfer my products from shopify to woo commerce",
            "migrate my shop to shopify",
            "I want to leave shopify for woocommerce",
            "copy everything from woocommerce into shopify",
            "move payments from paypal over to stripe",
        ),
    ),
    IntentSpec(
        name="schedule_workflow",
        params=ScheduleWorkflowParams,
        tier=ConsentTier.CONFIRM,
        autonomous=True,
        summary="Run recurring work (sales report, restocking low inventory) on a schedule.",
        required=("schedule", "tasks"),
        prompts={
            "schedule": "How often should it run? For example every Monday at 9am.",
            "tasks": "What should I do each time: send a sales report, restock low inventory, or both?",
        },
        utterances=(
            "every monday send me a sales report",
            "send me a sales report every day",
            "restock low inventory every week",
            "each morning send the sales report",
            "weekly sales report please",
            "every friday at 5pm send a sales report and restock low inventory",
            "schedule a daily restock of low inventory",
            "every sunday at 08:30 reorder low stock",
            "set up a weekly report of my sales",
        ),
    ),
    IntentSpec(
        name="store_report",
        params=StoreReportParams,
        tier=ConsentTier.NONE,
        summary="Answer questions about sales, best sellers and stock from the synced store data.",
        required=("report",),
        prompts={"report": "Which report: best sellers, a sales summary, or what's running low?"},
        utterances=(
            "show me my best sellers",
            "what are my top products this week",
            "what's running low",
            "how were sales today",
            "give me a sales summary for last month",
            "which products are low on stock",
            "what sold the most yesterday",
            "how much did I sell this month",
            "report on low inventory",
        ),
    ),
    IntentSpec(
        name="job_status",
        params=RunRefParams,
        tier=ConsentTier.NONE,
        summary="Tell how a setup or other job is going.",
        prompts={"run_id": "Which job? Its id starts with r_ (leave it and I'll use the latest)."},
        utterances=(
            "what's the status",
            "how is my setup going",
            "is it done yet",
            "check on my job",
            "status of run r_8f2k1",
            "what's happening with the stripe setup",
            "are you finished",
            "give me an update",
        ),
    ),
    IntentSpec(
        name="cancel_job",
        params=RunRefParams,
        tier=ConsentTier.NONE,
        summary="Stop a job that is running and undo what it did.",
        prompts={"run_id": "Which job should I cancel? Its id starts with r_."},
        utterances=(
            "cancel the setup",
            "stop the job",
            "abort that",
            "cancel run r_8f2k1",
            "never mind, stop the migration",
            "halt what you're doing",
            "cancel my current job",
            "stop setting up stripe",
        ),
    ),
    IntentSpec(
        name="list_integrations",
        params=NoParams,
        tier=ConsentTier.NONE,
        summary="List the services OmniOps has connected for you.",
        utterances=(
            "what's connected",
            "list my integrations",
            "which services are set up",
            "show my connections",
            "what have you connected so far",
            "what integrations do I have",
            "list connected apps",
            "which accounts are linked",
        ),
    ),
    IntentSpec(
        name="revoke_access",
        params=RevokeParams,
        tier=ConsentTier.CONFIRM,
        autonomous=True,
        summary="Remove OmniOps' access to a service and delete the keys we hold, or stop scheduled work.",
        required=("service",),
        prompts={"service": "Which service should I disconnect, or which scheduled work should I stop?"},
        utterances=(
            "revoke access to stripe",
            "disconnect woocommerce",
            "remove your access to my mailchimp",
            "delete the sendgrid keys",
            "unlink shopify",
            "stop accessing my google analytics",
            "revoke the facebook pixel access",
            "take away omniops access to stripe",
            "stop my scheduled sales report",
            "revoke the standing consent for my schedules",
            "stop the weekly restock",
        ),
    ),
    IntentSpec(
        name="fix_integration",
        params=ServiceParams,
        tier=ConsentTier.CONFIRM,
        autonomous=True,
        summary="Diagnose and repair a broken integration (for example an expired key).",
        required=("service",),
        prompts={"service": "Which integration is broken?"},
        utterances=(
            "fix stripe",
            "my woocommerce connection is broken",
            "repair the mailchimp integration",
            "stripe stopped working",
            "fix my google analytics",
            "the pixel is not tracking, fix it",
            "sendgrid emails are failing",
            "reconnect shopify, it's broken",
        ),
    ),
    IntentSpec(
        name="export_data",
        params=NoParams,
        tier=ConsentTier.VERIFIED,
        summary="Send you a copy of everything OmniOps stores about you.",
        utterances=(
            "export my data",
            "download everything you have on me",
            "send me a copy of my data",
            "I want my data",
            "give me a data export",
            "what data do you store about me, export it",
            "export my account",
            "request a copy of my information",
        ),
    ),
    IntentSpec(
        name="delete_data",
        params=NoParams,
        tier=ConsentTier.VERIFIED,
        summary="Erase your data and revoke every key OmniOps holds.",
        utterances=(
            "delete my data",
            "erase everything you have about me",
            "delete my account",
            "forget me",
            "remove all my information",
            "wipe my data",
            "I want my data deleted",
            "close my account and delete everything",
        ),
    ),
    IntentSpec(
        name="help",
        params=NoParams,
        tier=ConsentTier.NONE,
        summary="Explain what OmniOps can do.",
        utterances=(
            "help",
            "what can you do",
            "how does this work",
            "what can I ask",
            "I need help",
            "what commands are there",
            "show me what you can do",
            "help me",
        ),
    ),
    IntentSpec(
        name="confirm",
        params=NoParams,
        tier=None,
        summary="Yes: answer a pending question.",
        utterances=("yes", "yeah", "sure", "go ahead", "do it", "ok", "yes please", "sounds good", "confirm"),
    ),
    IntentSpec(
        name="deny",
        params=NoParams,
        tier=None,
        summary="No: answer a pending question.",
        utterances=("no", "nope", "don't", "not now", "no thanks", "cancel that", "nah", "stop, don't do it"),
    ),
    IntentSpec(
        name="unknown",
        params=NoParams,
        tier=None,
        summary="Anything OmniOps does not understand.",
        utterances=(
            "what's the weather",
            "play some music",
            "tell me a joke",
            "order a pizza",
            "book a flight to paris",
            "who won the game last night",
            "set a timer for ten minutes",
            "translate hello into french",
        ),
    ),
)

INTENTS: Mapping[str, IntentSpec] = {spec.name: spec for spec in _SPECS}
INTENT_NAMES: tuple[str, ...] = tuple(INTENTS)


def get(name: str) -> IntentSpec:
    """Return the spec of ``name``; raises ``KeyError`` for an intent that does not exist."""
    return INTENTS[name]


def help_lines() -> list[str]:
    """One line per owner-facing intent, for help replies and docs."""
    return [
        f"{spec.utterances[0]!r}: {spec.summary}"
        for spec in _SPECS
        if spec.name not in ("confirm", "deny", "unknown", "help")
    ]
