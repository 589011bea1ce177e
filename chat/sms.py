"""The Twilio SMS channel adapter: signature check, inbound form → `Command` (or a direct `Reply`), TwiML out.

No Flask here; `gateway/blueprints/sms.py` calls these functions. Twilio's conventions followed:

* ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, URL + every POST param name+value, names sorted,
  values sorted)). The URL is the configured public URL + path (correct behind a proxy); like Twilio's own
  ``RequestValidator``, the signature is accepted on the URL with the default port added or removed
  (twilio-python#392: Twilio may sign ``https://host/…`` or ``https://host:443/…``).
* Opt-out keywords (the whole message, case-insensitive): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
  REVOKE, OPTOUT — the number is opted out (persisted) and we send it nothing more. START, UNSTOP (and a bare
  YES, as Twilio does) opt back in. HELP, INFO answer with help text. These work for any sender, bound or not.
* Anything else must come from a verified phone bound to an owner; other senders get one polite reply and
  nothing is dispatched. ``YES 123456`` / ``NO`` answer pending consents (intents confirm / deny).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from pydantic import ValidationError

from core.commands import AuthLevel, Channel, Command, Principal, Reply, ReplyRoute, ResponseType
from core.errors import MalformedRequest
from core.ports import Owner

ParseText = Callable[[str, str], "tuple[str, Mapping[str, Any]]"]
FormValue = str | Sequence[str]

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
MAX_SMS = 1600
HELP_TEXT = (
    "OmniOps: text what you need, e.g. 'set up WooCommerce' or 'status'. Reply YES <code> to approve a request, "
    "NO to cancel. Reply STOP to stop messages. Help: https://omniops.dev/help"
)
STOP_TEXT = "You're unsubscribed from OmniOps messages. Reply START to subscribe again."
START_TEXT = "You're subscribed to OmniOps messages again. Reply HELP for help, STOP to stop."
UNKNOWN_SENDER_TEXT = (
    "Sorry, this number isn't linked to an OmniOps account. Add and verify it in your OmniOps account settings."
)
# English and German (the de-DE catalog tells owners to reply "JA <code>" / "NEIN")
_YES_CODE = re.compile(r"^\s*(?:yes|y|approve|ja|j)\W*(\d{6})\s*$", re.IGNORECASE)
_YES_WORDS = frozenset({"YES", "Y", "JA", "J"})
_NO = re.compile(r"^\s*(?:no|n|deny|decline|nein|ablehnen)\W*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


class SmsOptOuts(Protocol):
    """Numbers that texted STOP: we send them nothing until they text START."""

    def is_opted_out(self, phone: str) -> bool: ...

    def opt_out(self, phone: str) -> None: ...

    def opt_in(self, phone: str) -> None: ...

    def first_delivery(self, message_sid: str) -> bool:
        """Record an inbound ``MessageSid``; False when it was already handled (Twilio delivered it again)."""
        ...


# ------------------------------------------------------------------------------------------------ signature
def _values(params: Mapping[str, FormValue], name: str) -> list[str]:
    value = params[name]
    return [value] if isinstance(value, str) else list(value)


def compute_signature(url: str, params: Mapping[str, FormValue], auth_token: str) -> str:
    """Twilio's signature of ``url`` and form ``params`` (names sorted, each name's values sorted)."""
    data = url
    for name in sorted(set(params)):
        for value in sorted(set(_values(params, name))):
            data += name + value
    mac = hmac.new(auth_token.encode(), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def _url_variants(url: str) -> Iterable[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    with_port = f"{prefix}{host}:{port}" if port else parts.netloc
    without_port = f"{prefix}{host}"
    for netloc in dict.fromkeys((parts.netloc, with_port, without_port)):
        yield urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def verify(url: str, params: Mapping[str, FormValue], signature: str | None, auth_token: str) -> bool:
    """True when ``signature`` is Twilio's for ``url`` (with or without its default port) and ``params``.

    Compared in constant time. ``url`` must be the public URL Twilio called (configured base + path + query).
    """
    if not signature or not auth_token:
        return False
    given = signature.strip().encode()
    ok = False
    for candidate in _url_variants(url):
        ok |= hmac.compare_digest(compute_signature(candidate, params, auth_token).encode(), given)
    return ok


# ------------------------------------------------------------------------------------------------ parse
def _first(form: Mapping[str, FormValue], name: str) -> str:
    value = form.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else (value[0] if value else "")


def _reply(text: str, rtype: ResponseType = ResponseType.QUERY_ANSWER, **kw: Any) -> Reply:
    return Reply(text=text, response_type=rtype, **kw)


def parse(
    form: Mapping[str, FormValue],
    *,
    owner_lookup: Callable[[str], Owner | None],
    opt_outs: SmsOptOuts,
    parse_text: ParseText,
    now: datetime,
    request_id: str,
) -> Command | Reply:
    """Turn a verified inbound SMS into a command for the bus, or answer it directly (keywords, strangers)."""
    phone = _first(form, "From").strip()
    body = " ".join(_first(form, "Body").split())
    if not _PHONE.match(phone):
        raise MalformedRequest("The SMS webhook needs a From number in E.164 form.")
    keyword = body.upper().strip(" .!")
    if keyword in STOP_WORDS:
        opt_outs.opt_out(phone)
        return _reply(STOP_TEXT, ResponseType.GOODBYE, error_code="opted_out")
    if keyword in HELP_WORDS:
        return _reply(HELP_TEXT)
    if keyword in START_WORDS - {"YES"}:
        opt_outs.opt_in(phone)
        return _reply(START_TEXT)
    if opt_outs.is_opted_out(phone):
        if keyword != "YES":
            return _reply("", ResponseType.GOODBYE, error_code="opted_out")  # they said STOP: stay silent
        opt_outs.opt_in(phone)  # Twilio treats a bare YES as an opt-in keyword too
    owner = owner_lookup(phone)
    if owner is None:
        return _reply(UNKNOWN_SENDER_TEXT, ResponseType.LINK_ACCOUNT, error_code="unknown_sender")
    if not body:
        return _reply(HELP_TEXT)
    locale = owner.locale if re.match(r"^[a-z]{2}(-[A-Z]{2})?$", owner.locale) else "en-US"
    params: Mapping[str, Any] = {}
    if _YES_CODE.match(body) or keyword in _YES_WORDS:
        intent = "confirm"
    elif _NO.match(body):
        intent = "deny"
    else:
        intent, params = parse_text(body[:MAX_SMS], locale)
    base = {
        "channel": Channel.SMS,
        "principal": Principal(owner_id=owner.id, auth=AuthLevel.VERIFIED_PHONE),
        "locale": locale,
        "reply_route": ReplyRoute(channel=Channel.SMS, to=phone),
        "request_id": request_id,
        "received_at": now,
        "session_id": phone,
        "text": body[:2000],
    }
    try:
        return Command.model_validate({**base, "intent": intent, "params": dict(params)})
    except ValidationError:
        return Command.model_validate({**base, "intent": "unknown", "params": {}})


# ------------------------------------------------------------------------------------------------ render
def render_twiml(reply: Reply) -> str:
    """TwiML for ``reply``: one XML-escaped ``<Message>``, or an empty ``<Response/>`` for silence."""
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    text = reply.text.strip()
    if not text:
        return head + "<Response/>"
    if len(text) > MAX_SMS:
        text = text[: MAX_SMS - 1] + "…"
    return f"{head}<Response><Message>{escape(text)}</Message></Response>"
