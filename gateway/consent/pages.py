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

from core.commands import AuthLevel, Principal, Reply, ResponseType
from core.errors import AuthenticationRequired, Conflict, ConsentError, NotFound
from core.handlers import DecideConsent
from core.messagebus import MessageBus
from core.ports import AuditEntry, AuditLog, ConsentRecord, ConsentStatus, ScheduleRecord, ScheduleStatus
from executor.schedules import SqlSchedules, describe_schedule
from gateway.consent.store import SqlConsentStore, token_hash

COOKIE_PREFIX = "omniops_consent_"
OWNER_SCOPE = "consents"
_BOT_UA = re.compile(
    r"bot|crawl|spider|preview|facebookexternalhit|slack|whatsapp|telegram|discord|skype|outlook|proofpoint"
    r"|mimecast|safelinks|curl|wget|python-requests|httpx",
    re.IGNORECASE,
)
_CHANNELS = {
    "alexa": "Alexa",
    "google": "Google Assistant",
    "siri": "Siri",
    "widget": "the chat on your website",
    "sms": "a text message",
    "cli": "the OmniOps command line",
    "api": "the OmniOps API",
    "schedule": "a scheduled workflow",
}
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
def _page(template: str, status: int, **context: Any) -> Response:
    html = render_template(template, csp_nonce=csp_nonce(), **context)
    return Response(html, status=status, mimetype="text/html")


def message_page(status: int, title: str, message: str, *, link: str | None = None) -> Response:
    """A friendly page for unknown, expired, used or refused links."""
    return _page("consent/message.html", status, title=title, message=message, link=link)


def unknown_link() -> Response:
    return message_page(
        404, "Link not found", "This approval link isn't valid. Check you opened the whole link from the message."
    )


def stale_page() -> Response:
    """403 when the CSRF check fails: nothing was decided."""
    return message_page(403, "Please try again", "This page is out of date. Open the link from your message again.")


def gone_page(record: ConsentRecord) -> Response:
    """410 for a link that can no longer decide anything; says what became of the request."""
    texts = {
        ConsentStatus.EXPIRED: "This approval link has expired, so nothing was done. Ask OmniOps again.",
        ConsentStatus.APPROVED: "This request was already approved. Nothing more to do here.",
        ConsentStatus.DENIED: "This request was already declined, so nothing was done.",
        ConsentStatus.REVOKED: "This permission was approved and later revoked.",
    }
    title = "Link expired" if record.status is ConsentStatus.EXPIRED else "Link already used"
    return message_page(410, title, texts.get(record.status, "This link can't be used any more."))


def _local_time(at: datetime, owner_tz: str) -> str:
    try:
        zone = ZoneInfo(owner_tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = at.astimezone(zone)
    return f"{local:%H:%M} {local.tzname()} on {local:%a %d %b}"


def request_page(c: ConsentContainer, record: ConsentRecord, raw_token: str) -> Response:
    """The details page with Approve / Deny, plus the CSRF cookie it needs. Changes nothing."""
    owner = c.bus.services.owners.get(record.owner_id)
    now = c.bus.services.clock.now()
    minutes = max(1, int((record.expires_at - now).total_seconds() // 60))
    nonce = secrets.token_urlsafe(24)
    d = record.declaration
    response = _page(
        "consent/request.html",
        200,
        d=d,
        service=_SERVICES.get(d.service, d.service),
        who=owner.name if owner else "your OmniOps account",
        channel=_CHANNELS.get(str(record.channel), str(record.channel)),
        asked_at=_local_time(record.created_at, owner.timezone if owner else "UTC"),
        expires_at=_local_time(record.expires_at, owner.timezone if owner else "UTC"),
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
    return [(k.replace("_", " ").capitalize(), _text(v)) for k, v in items]


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
        return message_page(400, "Please choose", "Use the Approve or Deny button on the approval page.")
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
        return message_page(403, "Can't approve here", "This request can't be approved from this link.")
    response = result_page(reply, approved=message.approve)
    response.delete_cookie(cookie_name(raw_token), path="/consent/")
    return response


def result_page(reply: Reply, *, approved: bool) -> Response:
    """What happens next, after the decision."""
    if not approved:
        return message_page(200, "Declined", "OK — nothing will happen. You can close this page.")
    if reply.response_type is ResponseType.ACTION_STARTED:
        return message_page(
            200,
            "Approved",
            "Done — OmniOps is starting; you'll get a text when it finishes.",
            link=reply.status_url,
        )
    return message_page(200, "Approved", reply.text)


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
