"""`SmsNotifier`: the `core.ports.Notifier` that texts the owner through Twilio.

* ``send_consent_link`` texts the approval link and "or reply YES <code>" to the owner's verified phone.
* ``run_event`` texts the owner when a run whose reply route is SMS or voice ends (succeeded / failed);
  widget runs are followed live over SSE instead, and progress events are never texted.
* A number that texted STOP gets nothing (checked before every send).
* The wrappers are in the run's locale (``locale`` in the event's data, set by the runner on the events texted
  here; else the owner's) or the consent's locale, from the ``sms.*`` catalog keys.

Message bodies are never logged.
"""

from __future__ import annotations

import logging
from typing import Protocol

from chat.sms import SmsOptOuts
from chat.twilio_client import BASE_URL, TwilioClient
from core.commands import Channel, ReplyRoute
from core.consent_text import consent_text
from core.errors import ProviderError
from core.events import RunEvent, RunEventKind
from core.i18n import t
from core.ports import ConsentRecord, Owner, Owners
from gateway.settings import Settings

log = logging.getLogger("omniops.notifier")

_WRAPPER = {  # the catalog key of the text that wraps each texted event's message
    RunEventKind.SUCCEEDED: "sms.run.succeeded",
    RunEventKind.FAILED: "sms.run.failed",
    RunEventKind.COMPENSATED: "sms.run.failed",
    RunEventKind.CANCELLED: "sms.run.cancelled",
    RunEventKind.WAITING_FOR_OWNER: "sms.run.waiting",
}
TEXTED_KINDS = frozenset(_WRAPPER)
TEXTED_ROUTES = frozenset({Channel.SMS, Channel.ALEXA, Channel.GOOGLE, Channel.SIRI})


class SmsSender(Protocol):
    def send_sms(self, *, to: str, body: str) -> str: ...


class SmsNotifier:
    """Texts consent links and run results; respects STOP opt-outs."""

    def __init__(self, *, sender: SmsSender, owners: Owners, opt_outs: SmsOptOuts) -> None:
        self._sender = sender
        self._owners = owners
        self._opt_outs = opt_outs

    def tell_owner(self, owner_id: str, body: str) -> None:
        """Text the owner's first verified phone (unless it opted out). Raises a ProviderError family."""
        owner = self._owners.get(owner_id)
        phone = owner.verified_phones[0] if owner is not None and owner.verified_phones else None
        if phone is None or self._opt_outs.is_opted_out(phone):
            log.info("owner not texted", extra={"owner_id": owner_id, "reason": "no phone or opted out"})
            return
        self._sender.send_sms(to=phone, body=body)

    def send_consent_link(self, *, owner: Owner, consent: ConsentRecord, link: str, code: str) -> None:
        """Text the approve link and the code. Raises a ProviderError family if Twilio refuses."""
        phone = owner.verified_phones[0] if owner.verified_phones else None
        if phone is None or self._opt_outs.is_opted_out(phone):
            log.info("consent link not texted", extra={"consent_id": consent.id, "reason": "no phone or opted out"})
            return
        action = consent_text(consent).action.rstrip(".")  # in the consent's locale; the record stays as declared
        body = t(consent.locale, "sms.consent_link", action=action, link=link, code=code)
        self._sender.send_sms(to=phone, body=body)
        log.info("consent link texted", extra={"consent_id": consent.id, "owner_id": owner.id})

    def run_event(self, event: RunEvent, route: ReplyRoute) -> None:
        """Text the result of a finished SMS/voice run; everything else is ignored. Never raises."""
        if event.kind not in TEXTED_KINDS or route.channel not in TEXTED_ROUTES:
            return
        owner = self._owners.get(event.owner_id)
        if owner is None or not owner.verified_phones:
            return
        phone = route.to if route.channel is Channel.SMS and route.to in owner.verified_phones else None
        phone = phone or owner.verified_phones[0]
        if self._opt_outs.is_opted_out(phone):
            log.info("run result not texted: opted out", extra={"run_id": event.run_id})
            return
        locale = str(event.data.get("locale") or owner.locale)
        body = t(locale, _WRAPPER[event.kind], message=event.message)
        try:
            self._sender.send_sms(to=phone, body=body)
        except ProviderError as err:
            log.warning("run result not texted", extra={"run_id": event.run_id, "code": err.code})


def build_sms_notifier(*, settings: Settings, owners: Owners, opt_outs: SmsOptOuts) -> SmsNotifier | None:
    """The Twilio-backed notifier when ``TWILIO_ACCOUNT_SID``/``AUTH_TOKEN``/``FROM`` are set, else None.

    ``TWILIO_BASE_URL`` (the sandbox sets it) overrides ``https://api.twilio.com``.
    """
    token = settings.twilio_auth_token
    if not (settings.twilio_account_sid and token is not None and settings.twilio_from):
        return None
    client = TwilioClient(
        account_sid=settings.twilio_account_sid,
        auth_token=token.get_secret_value(),
        from_number=settings.twilio_from,
        base_url=settings.provider_url("twilio") or BASE_URL,
    )
    return SmsNotifier(sender=client, owners=owners, opt_outs=opt_outs)
