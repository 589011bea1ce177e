"""Command handlers: one function per intent, and one per internal command, in two explicit tables.

Each handler takes the command and the injected `Services` and returns a `Reply`. The flow for work that
touches a third party is always: identity → entitlement → params (elicit what is missing) → consent policy
→ (consent granted) → run queued. Handlers never perform I/O themselves; they call ports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from core import intents
from core.commands import (
    AuthLevel,
    Channel,
    Command,
    ConfirmationStatus,
    ConsentPrompt,
    Reply,
    ResponseType,
)
from core.consent import ConsentMethod, grants_verified, is_voice, method_for, required_tier
from core.consent_text import consent_text
from core.entitlements import refusal
from core.errors import Conflict, ConsentError, NotFound, RateLimited
from core.i18n import t
from core.ports import (
    AuditEntry,
    AuditLog,
    Clock,
    ConsentRecord,
    ConsentStatus,
    ConsentStore,
    Conversation,
    Conversations,
    Ids,
    Journal,
    Notifier,
    Owner,
    Owners,
    Queue,
    RecipeCatalog,
    RecipeInfo,
    Reports,
    RunRecord,
    RunStatus,
    Schedules,
    Vault,
)
from core.schedules import describe

MANUAL_GUIDE_URL = "https://omniops.dev/guides"
CONVERSATION_TTL = timedelta(minutes=10)
SUGGESTIONS = ("suggest.best_sellers", "suggest.running_low", "suggest.connect_stripe")
_REPROMPT_KEYS = frozenset({"shall_i_reprompt", "text_link_reprompt", "what_next"})
_CODE_RE = re.compile(r"\b(\d{6})\b")

#: Entitlement check: None when allowed, else the friendly refusal (text, guide URL).
EntitlementCheck = Callable[[Owner, str, Mapping[str, Any]], "tuple[str, str] | None"]
#: ``extract_param(intent, param, text, locale)``: the answer to a pending question, or ``None``.
ParamExtractor = Callable[[str, str, str, str], Any]


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything the handlers need, injected by the composition root (fakes in unit tests)."""

    clock: Clock
    ids: Ids
    owners: Owners
    consents: ConsentStore
    journal: Journal
    queue: Queue
    vault: Vault
    audit: AuditLog
    notifier: Notifier
    recipes: RecipeCatalog
    reports: Reports
    conversations: Conversations
    extract_param: ParamExtractor
    public_url: str
    consent_ttl_seconds: int = 15 * 60
    entitlement: EntitlementCheck = refusal
    schedules: Schedules | None = None  # the owner's scheduled workflows (standing grants), when wired


class DecideConsent(BaseModel):
    """Internal command: the owner approved or denied a consent request (link POST, widget card, code)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_id: str
    owner_id: str
    approve: bool
    via: str  # "link" | "card" | "sms_code" | "same_channel"
    channel: Channel
    auth: AuthLevel
    ip_address: str | None = None
    user_agent: str | None = None


Handler = Callable[[Command, Services], Reply]


# ------------------------------------------------------------------------------------------------ helpers
def _reply(cmd: Command, text: str, rtype: ResponseType, **kw: Any) -> Reply:
    """A reply in the command's locale; ``suggestions`` and ``reprompt`` are message keys too."""
    if "suggestions" in kw:
        kw["suggestions"] = tuple(t(cmd.locale, key) for key in kw["suggestions"])
    if kw.get("reprompt") in _REPROMPT_KEYS:
        kw["reprompt"] = t(cmd.locale, kw["reprompt"])
    return Reply(text=text, response_type=rtype, intent=cmd.intent, locale=cmd.locale, **kw)


def conversation_key(cmd: Command) -> str:
    """The conversation a command belongs to: channel + session (or phone, or owner)."""
    return f"{cmd.channel}:{cmd.session_id or cmd.reply_route.to or cmd.principal.owner_id or '-'}"


def _service_name(value: Any) -> str:
    names = {
        "woocommerce": "WooCommerce",
        "stripe": "Stripe",
        "shopify": "Shopify",
        "sendgrid": "SendGrid",
        "mailchimp": "Mailchimp",
        "google_analytics": "Google Analytics",
        "facebook_pixel": "the Meta Pixel",
        "widget": "the OmniOps widget",
        "paypal": "PayPal",
    }
    return names.get(str(value), str(value))


def _status_url(svc: Services, run_id: str) -> str:
    return f"{svc.public_url.rstrip('/')}/v1/runs/{run_id}"


def _owner(cmd: Command, svc: Services) -> Owner:
    owner = svc.owners.get(cmd.principal.owner_id or "")
    if owner is None:
        raise NotFound(t(cmd.locale, "account_not_found"))
    return owner


def _prompt(consent: ConsentRecord, link: str | None = None) -> ConsentPrompt:
    """The card the owner approves, in the consent's locale (the stored declaration stays as declared)."""
    d, text = consent.declaration, consent_text(consent)
    return ConsentPrompt(
        consent_id=consent.id,
        action=text.action,
        service=d.service,
        permissions=text.permissions,
        data_access=text.data_access,
        duration=text.duration,
        tier=d.tier,
        expires_at=consent.expires_at,
        approve_url=link,
    )


def _summary(consent: ConsentRecord) -> str:
    d = consent_text(consent)
    perms = ", ".join(d.permissions) if d.permissions else t(consent.locale, "no_special_permissions")
    return t(consent.locale, "summary", action=d.action.rstrip("."), permissions=perms, duration=d.duration)


def start_run(svc: Services, consent: ConsentRecord, recipe: RecipeInfo, cmd_intent: str) -> Reply:
    """Queue the run a granted consent allows; returns the acknowledgement the owner hears at once."""
    run = svc.journal.create_run(
        owner_id=consent.owner_id,
        recipe=recipe.name,
        params=consent.params,
        consent_id=consent.id,
        reply_route=consent.reply_route,
        locale=consent.locale,
    )
    svc.audit.append(
        AuditEntry(
            owner_id=consent.owner_id,
            action="run.queued",
            agent=f"channel:{consent.channel}",
            success=True,
            channel=str(consent.channel),
            run_id=run.id,
            consent_id=consent.id,
            detail={"recipe": recipe.name, "intent": cmd_intent},
        )
    )
    svc.queue.enqueue(run.id)
    service = _service_name(consent.params.get("service") or consent.declaration.service)
    text = t(consent.locale, "on_it", action=consent_text(consent).action.rstrip("."))
    if cmd_intent in ("setup_integration", "setup_store"):
        widget = consent.reply_route.channel is Channel.WIDGET
        text = t(consent.locale, "setup_started_widget" if widget else "setup_started", service=service)
    return Reply(
        text=text,
        response_type=ResponseType.ACTION_STARTED,
        intent=cmd_intent,
        run_id=run.id,
        status_url=_status_url(svc, run.id),
        locale=consent.locale,
        suggestions=(t(consent.locale, "whats_the_status"),),
    )


# ------------------------------------------------------------------------------------------------ work intents
def _not_entitled(cmd: Command, svc: Services, owner: Owner) -> Reply | None:
    refused = svc.entitlement(owner, cmd.intent, cmd.params)
    if refused is None:
        return None
    text, guide = refused
    return _reply(cmd, text, ResponseType.NOT_ENTITLED, link=guide, error_code="not_entitled")


def handle_work(cmd: Command, svc: Services) -> Reply:
    """Any intent that acts on a third party: elicit params, then collect consent, then queue the run."""
    owner = _owner(cmd, svc)
    refused = _not_entitled(cmd, svc, owner)
    if refused is not None:
        return refused
    return _entitled_work(cmd, svc, owner)


def _entitled_work(cmd: Command, svc: Services, owner: Owner) -> Reply:
    recipe = svc.recipes.for_command(cmd.intent, cmd.params)
    missing = list(cmd.spec.missing(cmd.params))
    if recipe is not None:
        missing += [p for p in recipe.required if p not in missing and cmd.params.get(p) in (None, "")]
    if missing:
        return _elicit(cmd, svc, missing[0], recipe)
    if recipe is None:
        guide = f"{MANUAL_GUIDE_URL}/{cmd.params.get('service', cmd.intent)}"
        return _reply(
            cmd,
            t(cmd.locale, "no_recipe_guide", guide=guide),
            ResponseType.ERROR,
            link=guide,
            error_code="no_recipe",
        )
    tier = required_tier(recipe.declaration, cmd.spec.tier)
    method = method_for(tier, channel=cmd.channel, auth=cmd.principal.auth)
    previous = _pending_from_conversation(cmd, svc)
    if cmd.confirmation is ConfirmationStatus.DENIED:
        svc.conversations.clear(conversation_key(cmd))
        if previous is not None:
            _decide_quietly(svc, previous, approve=False, via="same_channel")
        return _reply(cmd, t(cmd.locale, "wont_do"), ResponseType.GOODBYE)
    confirmed_here = method is ConsentMethod.SAME_CHANNEL_YES and cmd.confirmation is ConfirmationStatus.CONFIRMED
    if confirmed_here:  # a same-channel yes: to the question we asked (that very request), or said up front
        svc.conversations.clear(conversation_key(cmd))
        if previous is None:
            previous = svc.consents.create(
                command=cmd, declaration=recipe.declaration, ttl_seconds=svc.consent_ttl_seconds
            ).record
        consent = svc.consents.decide(
            previous.id, approve=True, evidence={"via": "same_channel", "channel": str(cmd.channel)}
        )
        _audit_decision(svc, consent, approved=True, via="same_channel")
        return start_run(svc, consent, recipe, cmd.intent)
    issued = svc.consents.create(command=cmd, declaration=recipe.declaration, ttl_seconds=svc.consent_ttl_seconds)
    consent = issued.record
    if previous is not None:  # asked again, or a fresh link is due: the older request can no longer be used
        _decide_quietly(svc, previous, approve=False, via="superseded")
    link = f"{svc.public_url.rstrip('/')}/consent/{issued.link_token}"
    if method is ConsentMethod.NONE:
        consent = svc.consents.decide(consent.id, approve=True, evidence={"via": "policy", "tier": "none"})
        return start_run(svc, consent, recipe, cmd.intent)
    if method is ConsentMethod.SAME_CHANNEL_YES:
        _await_confirm(cmd, svc, consent)
        return _reply(
            cmd,
            t(cmd.locale, "shall_i", summary=_summary(consent)),
            ResponseType.QUESTION,
            consent=_prompt(consent),
            confirm_intent=True,
            end_conversation=False,
            reprompt="shall_i_reprompt",
        )
    if method is ConsentMethod.SESSION_CARD:
        return _reply(
            cmd,
            t(cmd.locale, "approve_below", summary=_summary(consent)),
            ResponseType.CONSENT_REQUIRED,
            consent=_prompt(consent, link),
            end_conversation=False,
        )
    if method is ConsentMethod.SMS_CODE:
        _await_confirm(cmd, svc, consent)
        return _reply(
            cmd,
            t(cmd.locale, "sms_consent", summary=_summary(consent), code=issued.sms_code, link=link),
            ResponseType.CONSENT_REQUIRED,
            consent=_prompt(consent, link),
            end_conversation=False,
        )
    # LINK: a voice yes first (Alexa/Google dialog), then the link by SMS; other channels get the link now.
    if cmd.channel in (Channel.ALEXA, Channel.GOOGLE) and cmd.confirmation is ConfirmationStatus.NONE:
        _await_confirm(cmd, svc, consent)
        return _reply(
            cmd,
            t(cmd.locale, "text_link_question", summary=_summary(consent)),
            ResponseType.QUESTION,
            consent=_prompt(consent),
            confirm_intent=True,
            end_conversation=False,
            reprompt="text_link_reprompt",
        )
    return _send_link(cmd, svc, owner, consent, link, issued.sms_code)


def handle_schedule_workflow(cmd: Command, svc: Services) -> Reply:
    """``schedule_workflow``: refuse early when there is no store to report on or it is scheduled already."""
    owner = _owner(cmd, svc)
    refused = _not_entitled(cmd, svc, owner)
    if refused is not None:
        return refused
    owner_id = cmd.principal.owner_id or ""
    if svc.reports.report(owner_id, "low_stock", None) is None:  # None: no store synced (a bounded query)
        svc.conversations.clear(conversation_key(cmd))
        return _reply(
            cmd,
            t(cmd.locale, "schedule_needs_store"),
            ResponseType.ERROR,
            error_code="no_store",
            suggestions=("suggest.setup_woo",),
        )
    schedule, tasks = cmd.params.get("schedule"), cmd.params.get("tasks")
    if svc.schedules is not None and schedule and tasks:
        for existing in svc.schedules.active(owner_id):
            if existing.schedule == schedule and set(existing.tasks) == set(tasks):
                svc.conversations.clear(conversation_key(cmd))
                what = describe(existing.schedule, existing.tasks, weekday=existing.weekday, locale=cmd.locale)
                return _reply(cmd, t(cmd.locale, "already_scheduled", what=what), ResponseType.QUERY_ANSWER)
    return _entitled_work(cmd, svc, owner)


def handle_revoke_access(cmd: Command, svc: Services) -> Reply:
    """``revoke_access``: a service is disconnected by its recipe; scheduled work only if there is some."""
    target = cmd.params.get("service")
    if svc.schedules is not None and target in intents.WORKFLOW_TARGETS:  # revoking is in every plan
        active = svc.schedules.active(cmd.principal.owner_id or "")
        if not any(s.stopped_by(target) for s in active):
            svc.conversations.clear(conversation_key(cmd))
            return _reply(cmd, t(cmd.locale, "no_schedules"), ResponseType.QUERY_ANSWER)
    return handle_work(cmd, svc)


def _send_link(cmd: Command, svc: Services, owner: Owner, consent: ConsentRecord, link: str, code: str) -> Reply:
    svc.conversations.clear(conversation_key(cmd))
    if not owner.verified_phones:
        return _reply(
            cmd,
            t(cmd.locale, "no_verified_phone"),
            ResponseType.ERROR,
            error_code="no_verified_phone",
        )
    svc.notifier.send_consent_link(owner=owner, consent=consent, link=link, code=code)
    return _reply(
        cmd,
        t(cmd.locale, "link_sent"),
        ResponseType.CONSENT_REQUIRED,
        consent=_prompt(consent),
    )


def _pending_from_conversation(cmd: Command, svc: Services) -> ConsentRecord | None:
    """The pending request this conversation already asked about, when it is for the same intent and params."""
    conv = svc.conversations.get(conversation_key(cmd))
    if conv is None or conv.consent_id is None:
        return None
    consent = svc.consents.get(conv.consent_id)
    if consent is None or consent.status is not ConsentStatus.PENDING:
        return None
    return consent if (consent.intent, consent.params) == (cmd.intent, dict(cmd.params)) else None


def _decide_quietly(svc: Services, consent: ConsentRecord, *, approve: bool, via: str) -> None:
    try:
        decided = svc.consents.decide(consent.id, approve=approve, evidence={"via": via})
    except Conflict:  # decided meanwhile (e.g. approved from the link): nothing to do
        return
    _audit_decision(svc, decided, approved=approve, via=via)


def _await_confirm(cmd: Command, svc: Services, consent: ConsentRecord) -> None:
    svc.conversations.put(
        Conversation(
            key=conversation_key(cmd),
            intent=cmd.intent,
            params=dict(cmd.params),
            awaiting="confirm",
            consent_id=consent.id,
            expires_at=min(consent.expires_at, svc.clock.now() + CONVERSATION_TTL),
        )
    )


def _elicit(cmd: Command, svc: Services, param: str, recipe: RecipeInfo | None) -> Reply:
    prompt = (recipe.prompts.get(param) if recipe else None) or cmd.spec.prompts.get(param)
    if param == "store_url" and cmd.params.get("service"):
        prompt = t(cmd.locale, "ask_store_address", service=_service_name(cmd.params["service"]))
    prompt = prompt or t(cmd.locale, "ask_param", param=param.replace("_", " "))
    svc.conversations.put(
        Conversation(
            key=conversation_key(cmd),
            intent=cmd.intent,
            params=dict(cmd.params),
            awaiting=param,
            expires_at=svc.clock.now() + CONVERSATION_TTL,
        )
    )
    return _reply(cmd, prompt, ResponseType.QUESTION, elicit_param=param, end_conversation=False, reprompt=prompt)


# ------------------------------------------------------------------------------------------------ answers
def handle_confirm(cmd: Command, svc: Services) -> Reply:
    """A yes: approve the pending confirm-tier request, or (voice, verified tier) text the approval link."""
    code = _CODE_RE.search(cmd.text or "")
    if cmd.channel is Channel.SMS and code and cmd.principal.owner_id:
        return _approve_by_code(cmd, svc, code.group(1))
    conv = svc.conversations.get(conversation_key(cmd))
    if conv is None or conv.awaiting != "confirm" or conv.consent_id is None:
        return _reply(cmd, t(cmd.locale, "nothing_waiting"), ResponseType.QUERY_ANSWER, suggestions=SUGGESTIONS)
    consent = svc.consents.get(conv.consent_id)
    if consent is None or consent.owner_id != cmd.principal.owner_id or consent.status != ConsentStatus.PENDING:
        svc.conversations.clear(conv.key)
        return _reply(cmd, t(cmd.locale, "request_expired"), ResponseType.ERROR, error_code="consent_expired")
    recipe = svc.recipes.for_command(consent.intent, consent.params)
    if recipe is None:
        svc.conversations.clear(conv.key)
        return _reply(cmd, t(cmd.locale, "no_longer_automatic"), ResponseType.ERROR, error_code="no_recipe")
    if consent.declaration.tier is intents.ConsentTier.VERIFIED:
        if cmd.channel is Channel.SMS:
            return _reply(
                cmd,
                t(cmd.locale, "reply_yes_code"),
                ResponseType.QUESTION,
                end_conversation=False,
            )
        owner = _owner(cmd, svc)
        issued = svc.consents.create(
            command=Command(
                channel=consent.channel,
                principal=cmd.principal,
                intent=consent.intent,
                params=consent.params,
                locale=consent.locale,
                reply_route=consent.reply_route,
                request_id=cmd.request_id,
                received_at=cmd.received_at,
            ),
            declaration=consent.declaration,
            ttl_seconds=svc.consent_ttl_seconds,
        )
        _decide_quietly(svc, consent, approve=False, via="superseded")
        link = f"{svc.public_url.rstrip('/')}/consent/{issued.link_token}"
        return _send_link(cmd, svc, owner, issued.record, link, issued.sms_code)
    svc.conversations.clear(conv.key)
    decided = decide_consent(
        DecideConsent(
            consent_id=consent.id,
            owner_id=consent.owner_id,
            approve=True,
            via="same_channel",
            channel=cmd.channel,
            auth=cmd.principal.auth,
        ),
        svc,
    )
    return decided.model_copy(update={"intent": cmd.intent})


def _approve_by_code(cmd: Command, svc: Services, code: str) -> Reply:
    owner_id = cmd.principal.owner_id or ""
    try:
        consent = svc.consents.decide_by_code(owner_id, code, evidence={"via": "sms_code", "channel": "sms"})
    except RateLimited:
        return _reply(cmd, t(cmd.locale, "too_many_codes"), ResponseType.ERROR, error_code="rate_limited")
    except (NotFound, Conflict):
        return _reply(cmd, t(cmd.locale, "bad_code"), ResponseType.ERROR, error_code="bad_code")
    svc.conversations.clear(conversation_key(cmd))
    _audit_decision(svc, consent, approved=True, via="sms_code")
    recipe = svc.recipes.for_command(consent.intent, consent.params)
    if recipe is None:
        return _reply(cmd, t(cmd.locale, "approved_not_automatic"), ResponseType.ERROR, error_code="no_recipe")
    return start_run(svc, consent, recipe, consent.intent)


def handle_deny(cmd: Command, svc: Services) -> Reply:
    """A no: deny whatever is pending in this conversation."""
    conv = svc.conversations.get(conversation_key(cmd))
    consent_id = conv.consent_id if conv else None
    if consent_id is None and cmd.channel is Channel.SMS and cmd.principal.owner_id:
        pending = svc.consents.latest_pending(cmd.principal.owner_id)
        consent_id = pending.id if pending else None
    if conv is not None:
        svc.conversations.clear(conv.key)
    if consent_id is None:
        return _reply(cmd, t(cmd.locale, "ok"), ResponseType.GOODBYE)
    pending = svc.consents.get(consent_id)
    if pending is not None:
        _decide_quietly(svc, pending, approve=False, via="same_channel")
    return _reply(cmd, t(cmd.locale, "wont_do"), ResponseType.GOODBYE)


def decide_consent(decision: DecideConsent, svc: Services) -> Reply:
    """Record the owner's decision atomically; on approval queue the run. Raises ConsentError if not allowed."""
    consent = svc.consents.get(decision.consent_id)
    if consent is None or consent.owner_id != decision.owner_id:
        raise NotFound("No such consent request.")
    if (
        decision.approve
        and consent.declaration.tier is intents.ConsentTier.VERIFIED
        and not grants_verified(channel=decision.channel, auth=decision.auth, via=decision.via)
    ):
        raise ConsentError("This request needs approval from the link or your logged-in OmniOps session.")
    evidence = {
        "via": decision.via,
        "channel": str(decision.channel),
        "ip": decision.ip_address,
        "user_agent": decision.user_agent,
    }
    consent = svc.consents.decide(consent.id, approve=decision.approve, evidence=evidence)
    _audit_decision(
        svc, consent, approved=decision.approve, via=decision.via, ip=decision.ip_address, ua=decision.user_agent
    )
    if not decision.approve:
        return Reply(text=t(consent.locale, "wont_do"), response_type=ResponseType.GOODBYE, locale=consent.locale)
    recipe = svc.recipes.for_command(consent.intent, consent.params)
    if recipe is None:
        return Reply(
            text=t(consent.locale, "approved_not_automatic"),
            response_type=ResponseType.ERROR,
            error_code="no_recipe",
            locale=consent.locale,
        )
    return start_run(svc, consent, recipe, consent.intent)


def _audit_decision(
    svc: Services, consent: ConsentRecord, *, approved: bool, via: str, ip: str | None = None, ua: str | None = None
) -> None:
    svc.audit.append(
        AuditEntry(
            owner_id=consent.owner_id,
            action="consent.approved" if approved else "consent.denied",
            agent=f"owner:{via}",
            success=True,
            channel=str(consent.channel),
            consent_id=consent.id,
            ip_address=ip,
            user_agent=ua,
            detail={"intent": consent.intent, "via": via, "params_hash": consent.params_hash},
        )
    )


# ------------------------------------------------------------------------------------------------ queries
def handle_store_report(cmd: Command, svc: Services) -> Reply:
    report = cmd.params.get("report")
    if report is None:
        return _elicit(cmd, svc, "report", None)
    rows = svc.reports.report(cmd.principal.owner_id or "", report, cmd.params.get("period"))
    if rows is None:
        return _reply(
            cmd,
            t(cmd.locale, "no_store_data"),
            ResponseType.QUERY_ANSWER,
            suggestions=("suggest.setup_woo",),
        )
    if not rows:
        return _reply(cmd, t(cmd.locale, "nothing_to_report"), ResponseType.QUERY_ANSWER)
    lines = [f"{r.label}: {r.value}" for r in rows[:5]]
    text = f"{t(cmd.locale, f'report.{report}')}: " + "; ".join(lines) + "."
    return _reply(cmd, text, ResponseType.QUERY_ANSWER, suggestions=SUGGESTIONS)


def _find_run(cmd: Command, svc: Services, *, active_only: bool) -> RunRecord | None:
    owner_id = cmd.principal.owner_id or ""
    run_id = cmd.params.get("run_id")
    if run_id:
        run = svc.journal.get_run(run_id)
        return run if run is not None and run.owner_id == owner_id else None
    return svc.journal.latest_run(owner_id, active_only=active_only)


def describe_run(run: RunRecord, svc: Services, locale: str | None = None) -> str:
    """One sentence on where a run stands, for status replies and polling clients."""
    loc = locale or run.locale
    if run.status is RunStatus.SUCCEEDED:
        return run.summary or t(loc, "run.done")
    if run.status is RunStatus.FAILED:
        return t(loc, "run.failed", error=run.error or "?", guide=MANUAL_GUIDE_URL)
    if run.status in (RunStatus.CANCELLED, RunStatus.COMPENSATED):
        if run.error:
            return t(loc, "run.failed", error=run.error, guide=MANUAL_GUIDE_URL)
        return t(loc, "run.cancelled")
    if run.status is RunStatus.WAITING_FOR_OWNER:
        return t(loc, "run.waiting")
    events = svc.journal.events(run.id)
    return t(loc, "run.working", message=events[-1].message) if events else t(loc, "run.queued")


def handle_job_status(cmd: Command, svc: Services) -> Reply:
    run = _find_run(cmd, svc, active_only=False)
    if run is None:
        return _reply(cmd, t(cmd.locale, "no_jobs"), ResponseType.QUERY_ANSWER, suggestions=SUGGESTIONS)
    return _reply(
        cmd,
        describe_run(run, svc, cmd.locale),
        ResponseType.QUERY_ANSWER,
        run_id=run.id,
        status_url=_status_url(svc, run.id),
    )


def handle_cancel_job(cmd: Command, svc: Services) -> Reply:
    run = _find_run(cmd, svc, active_only=True)
    if run is None or not run.status.active:
        return _reply(cmd, t(cmd.locale, "nothing_to_cancel"), ResponseType.QUERY_ANSWER)
    svc.journal.request_cancel(run.id)
    svc.queue.enqueue(run.id)  # a queued or waiting run is picked up now and stops (then compensates)
    return _reply(
        cmd,
        t(cmd.locale, "cancelling"),
        ResponseType.ACTION_STARTED,
        run_id=run.id,
        status_url=_status_url(svc, run.id),
    )


def handle_list_integrations(cmd: Command, svc: Services) -> Reply:
    owner_id = cmd.principal.owner_id or ""
    creds = [c for c in svc.vault.list(owner_id) if not c.revoked]
    scheduled = svc.schedules.active(owner_id) if svc.schedules is not None else ()
    items = "; ".join(describe(s.schedule, s.tasks, weekday=s.weekday, locale=cmd.locale) for s in scheduled)
    if not creds:
        if scheduled:
            return _reply(cmd, t(cmd.locale, "scheduled_list", items=items), ResponseType.QUERY_ANSWER)
        return _reply(
            cmd,
            t(cmd.locale, "nothing_connected"),
            ResponseType.QUERY_ANSWER,
            suggestions=("suggest.setup_woo", "suggest.connect_stripe"),
        )
    names = sorted({_service_name(c.service) for c in creds})
    text = t(cmd.locale, "connected", names=", ".join(names))
    if scheduled:
        text += " " + t(cmd.locale, "scheduled_list", items=items)
    return _reply(cmd, text, ResponseType.QUERY_ANSWER)


def handle_help(cmd: Command, svc: Services) -> Reply:
    return _reply(
        cmd,
        t(cmd.locale, "help"),
        ResponseType.QUERY_ANSWER,
        end_conversation=False,
        suggestions=SUGGESTIONS,
        reprompt="what_next",
    )


def handle_unknown(cmd: Command, svc: Services) -> Reply:
    return _reply(
        cmd,
        t(cmd.locale, "unknown"),
        ResponseType.QUERY_ANSWER,
        error_code="no_intent_match",
        suggestions=SUGGESTIONS,
        end_conversation=not is_voice(cmd.channel),
        reprompt="what_next",
    )


HANDLERS: Mapping[str, Handler] = {
    "setup_integration": handle_work,
    "setup_store": handle_work,
    "migrate_store": handle_work,
    "schedule_workflow": handle_schedule_workflow,
    "revoke_access": handle_revoke_access,
    "fix_integration": handle_work,
    "export_data": handle_work,
    "delete_data": handle_work,
    "store_report": handle_store_report,
    "job_status": handle_job_status,
    "cancel_job": handle_cancel_job,
    "list_integrations": handle_list_integrations,
    "help": handle_help,
    "confirm": handle_confirm,
    "deny": handle_deny,
    "unknown": handle_unknown,
}

COMMAND_HANDLERS: Mapping[type[BaseModel], Callable[[Any, Services], Reply]] = {
    DecideConsent: decide_consent,
}
