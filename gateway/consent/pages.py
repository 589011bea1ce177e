"""What the consent-link views do: CSRF (double-submit cookie), security headers, rendering, the decision.

The link token is the only credential: whoever holds it may approve or deny, once. A GET never changes the
request (link-preview bots and mail scanners fetch links); the POST must carry a CSRF value that matches the
cookie the GET set, and goes through the message bus (`DecideConsent`), which decides atomically, audits
and queues the run.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Response, current_app, g, render_template, request
from markupsafe import Markup, escape

from core.commands import AuthLevel, Principal, Reply, ResponseType
from core.consent_text import consent_text
from core.errors import AuthenticationRequired, Conflict, ConsentError, NotFound
from core.handlers import DecideConsent
from core.i18n import DEFAULT_LOCALE, available, known, plural, t
from core.messagebus import MessageBus
from core.ports import AuditEntry, AuditLog, ConsentRecord, ConsentStatus, ScheduleRecord, ScheduleStatus
from core.schedules import moment, when
from executor.schedules import SqlSchedules, describe_schedule
from gateway.consent.store import SqlConsentStore, token_hash

COOKIE_PREFIX = "omniops_consent_"
OWNER_SCOPE = "consents"
_BOT_UA = re.compile(
    r"bot|crawl|spider|preview|facebookexternalhit|slack|whatsapp|telegram|discord|skype|outlook|proofpoint"
    r"|mimecast|safelinks|curl|wget|python-requests|httpx",
    re.IGNORECASE,
)
_SERVICES = {
    "woocommerce": "WooCommerce",
    "stripe": "Stripe",
    "shopify": "Shopify",
    "sendgrid": "SendGrid",
    "mailchimp": "Mailchimp",
    "google_analytics": "Google Analytics",
    "facebook_pixel": "Meta Pixel",
    "widget": "OmniOps chat widget",
    "paypal": "PayPal",
    "omniops": "OmniOps",
}


class ConsentContainer(Protocol):
    """What these views need from the composition root."""

    secret_key: str
    settings: Any  # gateway.settings.Settings (public_url)
    bus: MessageBus
    consents: SqlConsentStore
    audit: AuditLog
    resolve_owner_token: Callable[[str, str], Principal]
    schedules: SqlSchedules | None  # scheduled workflows bound to standing grants


def container() -> ConsentContainer:
    """The app's container (set by `create_app`)."""
    return cast(ConsentContainer, current_app.extensions["omniops"])


# ---------------------------------------------------------------------------------------------- CSRF
def cookie_name(raw_token: str) -> str:
    """One cookie per link (so two open links do not overwrite each other), not naming the token itself."""
    return COOKIE_PREFIX + token_hash(raw_token)[:16]


def csrf_value(secret_key: str, raw_token: str, nonce: str) -> str:
    """HMAC(app secret, token hash + nonce): the hidden form field that must match the cookie's nonce."""
    message = f"{token_hash(raw_token)}:{nonce}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def csrf_ok(secret_key: str, raw_token: str, nonce: str | None, submitted: str | None) -> bool:
    """Constant-time double-submit check: the cookie nonce and the form value must both be present and agree."""
    if not nonce or not submitted or len(nonce) > 128 or len(submitted) > 128:
        return False
    return hmac.compare_digest(csrf_value(secret_key, raw_token, nonce), submitted)


# ---------------------------------------------------------------------------------------------- headers
def csp_nonce() -> str:
    """A per-response nonce for the page's one inline stylesheet (there is no script at all)."""
    if "consent_csp_nonce" not in g:
        g.consent_csp_nonce = secrets.token_urlsafe(16)
    return str(g.consent_csp_nonce)


def secure_headers(response: Response) -> Response:
    """No framing, no caching, no referrer, no indexing, no script."""
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{csp_nonce()}'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------------------------- rendering
# The pages speak the consent's locale (``consent.page.*`` catalog keys; en-US is the text they always had).
def _page(template: str, status: int, *, locale: str = DEFAULT_LOCALE, **context: Any) -> Response:
    html = render_template(
        template, csp_nonce=csp_nonce(), lang=available(locale).split("-")[0], tr=_translator(locale), **context
    )
    return Response(html, status=status, mimetype="text/html")


def _translator(locale: str) -> Callable[..., Markup]:
    """``tr(key, count=None, **values)`` for templates: the catalog's text (trusted) with every value escaped."""

    def tr(key: str, count: int | None = None, **values: Any) -> Markup:
        safe = {name: escape(value) for name, value in values.items()}
        text = plural(locale, key, count, **safe) if count is not None else t(locale, key, **safe)
        return Markup(text)  # noqa: S704 - catalog text is ours; the values were escaped above

    return tr


def message_page(
    status: int, title: str, message: str, *, link: str | None = None, locale: str = DEFAULT_LOCALE
) -> Response:
    """A friendly page for unknown, expired, used or refused links."""
    return _page("consent/message.html", status, locale=locale, title=title, message=message, link=link)


def _message(status: int, locale: str, key: str, *, link: str | None = None) -> Response:
    """The page with title ``consent.page.<key>.title`` and text ``consent.page.<key>.message``."""
    title, text = t(locale, f"consent.page.{key}.title"), t(locale, f"consent.page.{key}.message")
    return message_page(status, title, text, link=link, locale=locale)


def unknown_link() -> Response:
    return message_page(
        404, "Link not found", "This approval link isn't valid. Check you opened the whole link from the message."
    )


def stale_page(locale: str = DEFAULT_LOCALE) -> Response:
    """403 when the CSRF check fails: nothing was decided."""
    return _message(403, locale, "stale")


def gone_page(record: ConsentRecord) -> Response:
    """410 for a link that can no longer decide anything; says what became of the request."""
    locale = record.locale
    texts = {
        ConsentStatus.EXPIRED: "consent.page.gone.expired",
        ConsentStatus.APPROVED: "consent.page.gone.approved",
        ConsentStatus.DENIED: "consent.page.gone.denied",
        ConsentStatus.REVOKED: "consent.page.gone.revoked",
    }
    title = "expired_title" if record.status is ConsentStatus.EXPIRED else "used_title"
    text = t(locale, texts.get(record.status, "consent.page.gone.other"))
    return message_page(410, t(locale, f"consent.page.gone.{title}"), text, locale=locale)


def _local_time(at: datetime, owner_tz: str, locale: str = DEFAULT_LOCALE) -> str:
    try:
        zone = ZoneInfo(owner_tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    if available(locale) == DEFAULT_LOCALE:
        return f"{local:%H:%M} {local.tzname()} on {local:%a %d %b}"
    return f"{moment(local, locale)} {local.tzname()}"  # Donnerstag, 26. November um 12:00 UTC


def _channel(channel: str, locale: str) -> str:
    key = f"consent.page.channel.{channel}"
    return t(locale, key) if known(key) else channel


def request_page(c: ConsentContainer, record: ConsentRecord, raw_token: str) -> Response:
    """The details page with Approve / Deny, plus the CSRF cookie it needs. Changes nothing."""
    owner = c.bus.services.owners.get(record.owner_id)
    now = c.bus.services.clock.now()
    minutes = max(1, int((record.expires_at - now).total_seconds() // 60))
    nonce = secrets.token_urlsafe(24)
    d, locale = record.declaration, record.locale
    response = _page(
        "consent/request.html",
        200,
        locale=locale,
        d=d,
        text=consent_text(record),  # the declaration in the consent's locale; the record stays as declared
        service=_SERVICES.get(d.service, d.service),
        who=owner.name if owner else t(locale, "consent.page.your_account"),
        channel=_channel(str(record.channel), locale),
        asked_at=_local_time(record.created_at, owner.timezone if owner else "UTC", locale),
        expires_at=_local_time(record.expires_at, owner.timezone if owner else "UTC", locale),
        minutes_left=minutes,
        params=_visible_params(record),
        csrf=csrf_value(c.secret_key, raw_token, nonce),
    )
    response.set_cookie(
        cookie_name(raw_token),
        nonce,
        max_age=max(60, int((record.expires_at - now).total_seconds())),
        path="/consent/",
        secure=str(c.settings.public_url).startswith("https://"),
        httponly=True,
        samesite="Strict",
    )
    return response


def _visible_params(record: ConsentRecord) -> Sequence[tuple[str, str]]:
    shown = {"service": record.declaration.service}  # already on the page as the service's name
    items = sorted((k, v) for k, v in record.params.items() if v not in (None, "") and shown.get(k) != v)
    return [(_param_label(k, record.locale), _param_text(k, v, record.locale)) for k, v in items]


def param_label(name: str) -> str:
    """``store_url`` → ``Store url``: a param's label on the page in en-US."""
    return name.replace("_", " ").capitalize()


def _param_label(name: str, locale: str) -> str:
    key = f"consent.page.param.{name}"
    return t(locale, key) if known(key) else param_label(name)


def _param_text(name: str, value: Any, locale: str) -> str:
    if name == "schedule" and isinstance(value, str) and available(locale) != DEFAULT_LOCALE:
        try:
            return when(value, locale=locale)  # jeden Montag um 09:00
        except ValueError:
            return _text(value)
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v).replace("_", " ") for v in value)
    return str(value)


# ---------------------------------------------------------------------------------------------- actions
def client_ip() -> str | None:
    return request.remote_addr


def user_agent() -> str | None:
    ua = request.headers.get("User-Agent")
    return ua[:512] if ua else None


def audit_view(c: ConsentContainer, record: ConsentRecord) -> None:
    """``consent.viewed``: who fetched the link (flagging likely preview bots); nothing else happens on GET."""
    ua = user_agent() or ""
    c.audit.append(
        AuditEntry(
            owner_id=record.owner_id,
            action="consent.viewed",
            agent="link",
            success=True,
            channel=str(record.channel),
            consent_id=record.id,
            ip_address=client_ip(),
            user_agent=ua or None,
            detail={"status": record.status.value, "likely_bot": bool(_BOT_UA.search(ua)) or not ua},
        )
    )


def decide(c: ConsentContainer, record: ConsentRecord, raw_token: str, decision: str | None) -> Response:
    """Hand the owner's click to the bus and render what happens next."""
    if decision not in ("approve", "deny"):
        return _message(400, record.locale, "choose")
    message = DecideConsent(
        consent_id=record.id,
        owner_id=record.owner_id,
        approve=decision == "approve",
        via="link",
        channel=record.channel,
        auth=AuthLevel.ANONYMOUS,  # the single-use link is the credential
        ip_address=client_ip(),
        user_agent=user_agent(),
    )
    try:
        reply = c.bus.handle_internal(message)
    except Conflict:
        latest = c.consents.get(record.id)
        return gone_page(latest) if latest is not None else unknown_link()
    except (NotFound, ConsentError):
        return _message(403, record.locale, "refused")
    response = result_page(reply, approved=message.approve, locale=record.locale)
    response.delete_cookie(cookie_name(raw_token), path="/consent/")
    return response


def result_page(reply: Reply, *, approved: bool, locale: str = DEFAULT_LOCALE) -> Response:
    """What happens next, after the decision."""
    if not approved:
        return _message(200, locale, "declined")
    if reply.response_type is ResponseType.ACTION_STARTED:
        return _message(200, locale, "approved", link=reply.status_url)
    return message_page(200, t(locale, "consent.page.approved.title"), reply.text, locale=locale)


# ---------------------------------------------------------------------------------------------- owner API
def owner_principal(c: ConsentContainer) -> Principal:
    """The owner behind the request's bearer token (401 without one)."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthenticationRequired("Send your OmniOps owner token as 'Authorization: Bearer <token>'.")
    principal = c.resolve_owner_token(raw.strip(), OWNER_SCOPE)
    if not principal.owner_id:
        raise AuthenticationRequired("Invalid or revoked token.")
    return principal


def grant_json(record: ConsentRecord, schedule: ScheduleRecord | None = None) -> dict[str, Any]:
    """A grant as the owner API shows it (hashes, tokens and codes never leave), with its schedule if any."""
    d = record.declaration
    return {
        "id": record.id,
        "intent": record.intent,
        "params": record.params,
        "action": d.action,
        "service": d.service,
        "permissions": list(d.permissions),
        "data_access": list(d.data_access),
        "duration": d.duration,
        "standing": d.standing,
        "status": record.status.value,
        "channel": str(record.channel),
        "created_at": record.created_at.isoformat(),
        "approved_at": record.decided_at.isoformat() if record.decided_at else None,
        "expires_at": record.grant_expires_at.isoformat() if record.grant_expires_at else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "schedule": None
        if schedule is None
        else {
            "id": schedule.id,
            "what": describe_schedule(schedule),
            "timezone": schedule.timezone,
            "status": schedule.status.value,
            "next_run_at": schedule.next_run_at.isoformat() if schedule.status is ScheduleStatus.ACTIVE else None,
            "last_run_id": schedule.last_run_id,
        },
    }


def schedule_of(c: ConsentContainer, consent_id: str) -> ScheduleRecord | None:
    """The scheduled workflow bound to a grant, when this deployment schedules workflows."""
    return c.schedules.by_consent(consent_id) if c.schedules is not None else None


def revoke(c: ConsentContainer, principal: Principal, consent_id: str) -> ConsentRecord:
    """Revoke the owner's grant (404 for anyone else's) and audit it."""
    owner_id = principal.owner_id or ""
    record = c.consents.revoke(consent_id, owner_id)
    c.audit.append(
        AuditEntry(
            owner_id=owner_id,
            action="consent.revoked",
            agent=f"owner:{principal.person_id or owner_id}",
            success=True,
            channel="api",
            consent_id=record.id,
            ip_address=client_ip(),
            user_agent=user_agent(),
            detail={
                "intent": record.intent,
                "params_hash": record.params_hash,
                "standing": record.declaration.standing,
            },
        )
    )
    schedule = schedule_of(c, record.id)  # a scheduled workflow stops now, not at its next slot
    if schedule is not None and c.schedules is not None and c.schedules.stop(schedule.id, reason="revoked"):
        c.audit.append(
            AuditEntry(
                owner_id=owner_id,
                action="schedule.stopped",
                agent=f"owner:{principal.person_id or owner_id}",
                success=True,
                channel="api",
                consent_id=record.id,
                detail={"schedule_id": schedule.id, "reason": "revoked"},
            )
        )
    return record
