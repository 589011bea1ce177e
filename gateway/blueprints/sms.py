"""Twilio inbound SMS webhook: verify ``X-Twilio-Signature`` over the public URL → parse → bus → TwiML."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from chat import sms
from core.commands import Reply, ResponseType
from core.errors import Forbidden
from gateway.openapi import describe
from gateway.widget_sessions import ChatContainer, chat_container

bp = Blueprint("sms", __name__)
REDELIVERED = Reply(text="", response_type=ResponseType.GOODBYE)


def public_request_url(c: ChatContainer) -> str:
    """The URL Twilio called: the configured public base URL + this path (+ query), whatever proxy is between."""
    query = request.query_string.decode("latin-1")
    return c.settings.public_url.rstrip("/") + request.path + (f"?{query}" if query else "")


def _auth_token(c: ChatContainer) -> str:
    token = c.settings.twilio_auth_token
    return token.get_secret_value() if token is not None else ""


@bp.post("/v1/channels/twilio/sms")
@describe(
    "Twilio inbound SMS webhook (answers with TwiML)",
    tags=("channels",),
    auth="twilioSignature",
    request={"type": "object"},
    request_type="application/x-www-form-urlencoded",
    response_type="text/xml",
    responses={200: "TwiML", 403: "Bad signature (nothing dispatched)", 429: "Too many"},
)
def inbound_sms() -> Response:
    c = chat_container()
    c.rate_limiter.check("sms_ip", request.remote_addr or "-")
    form = request.form.to_dict(flat=False)
    if not sms.verify(public_request_url(c), form, request.headers.get("X-Twilio-Signature"), _auth_token(c)):
        raise Forbidden("The Twilio signature did not match.")
    if not c.sms_opt_outs.first_delivery(request.form.get("MessageSid", "")):
        return Response(sms.render_twiml(REDELIVERED), mimetype="text/xml")  # handled once already: stay silent
    c.rate_limiter.check("sms_phone", request.form.get("From", "-"))
    result = sms.parse(
        form,
        owner_lookup=c.owners.by_verified_phone,
        opt_outs=c.sms_opt_outs,
        parse_text=c.parse_text,
        now=c.clock.now(),
        request_id=g.get("request_id", "-"),
    )
    if isinstance(result, Reply):
        return Response(sms.render_twiml(result), mimetype="text/xml")
    c.rate_limiter.check("sms_owner", result.owner_id or "-")
    reply = c.bus.handle(result)
    return Response(sms.render_twiml(reply), mimetype="text/xml")
