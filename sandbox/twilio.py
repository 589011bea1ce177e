"""Twilio Messaging simulator: ``/2010-04-01/Accounts/{Sid}/Messages.json`` plus inbound SMS webhooks.

Point the official SDK at it with ``client = Client(sid, token); client.api.base_url = url``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from sandbox._http import Request, Response, StartResponse, WSGIApp, WSGIEnv, json_response
from sandbox.faults import FaultMiddleware, Faults

__all__ = ["TwilioAccount", "TwilioState", "compute_signature", "create_twilio_app", "send_inbound"]

API = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MESSAGE_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages(?:/(?P<msid>(?:SM|MM)[0-9a-f]{32}))?\.json$"
)
# Test-credential magic numbers [twilio docs]: From and To outcomes.
MAGIC_FROM = {"+15005550001": 21212, "+15005550007": 21606, "+15005550008": 21611}
MAGIC_TO = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}
ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource {path} was not found"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21212: (400, "The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric sender ID."),
    21408: (400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (
        400,
        "The From phone number {from_} is not a valid, SMS-capable inbound phone number or short code for your "
        "account.",
    ),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21611: (400, "This 'From' number has exceeded the maximum number of queued messages"),
    21612: (
        400,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number: {from_} via SMS.",
    ),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
}


class TwilioError(Exception):
    """A Twilio REST error."""

    def __init__(self, code: int, **fmt: str) -> None:
        status, template = ERRORS[code]
        super().__init__(template)
        self.code, self.status, self.message = code, status, template.format(**fmt)

    def response(self) -> Response:
        """``{code, message, more_info, status}``."""
        body = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        return json_response(body, self.status)


def compute_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(auth token, url + sorted name+value pairs))."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


@dataclass
class TwilioAccount:
    """An account: SID, auth token, owned numbers; ``test`` accounts follow the magic-number rules."""

    sid: str
    auth_token: str
    numbers: list[str]
    test: bool = False
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)


def _rfc2822(dt: datetime) -> str:
    return format_datetime(dt, usegmt=True).replace("GMT", "+0000")


class TwilioState:
    """Accounts and every message sent, readable as "the owner's phone"."""

    def __init__(self, *, seed: int = 0, faults: Faults | None = None) -> None:
        self.faults = faults or Faults(seed=seed)
        self.lock = threading.RLock()
        rng = random.Random(f"{seed}:twilio")
        self.account = TwilioAccount(
            "AC" + f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(128):032x}", ["+15017122661", "+15005550006"]
        )
        self.test_account = TwilioAccount(
            "AC" + f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(128):032x}", ["+15005550006"], test=True
        )
        self.accounts = {a.sid: a for a in (self.account, self.test_account)}
        self.status_callbacks: list[dict[str, Any]] = []

    def messages_to(self, phone: str) -> list[dict[str, Any]]:
        """Every message sent to ``phone``, oldest first (what the owner's phone received)."""
        with self.lock:
            return [dict(m) for a in self.accounts.values() for m in a.messages.values() if m["to"] == phone]

    def all_messages(self) -> list[dict[str, Any]]:
        """Every outbound message of every account."""
        with self.lock:
            return [dict(m) for a in self.accounts.values() for m in a.messages.values()]

    def send_inbound(
        self, to_url: str, from_: str, body: str, *, to: str | None = None, public_url: str | None = None
    ) -> httpx.Response:
        """POST an inbound SMS webhook to ``to_url`` signed with the main account's auth token."""
        return send_inbound(
            to_url,
            from_,
            body,
            self.account.auth_token,
            public_url=public_url,
            to=to or self.account.numbers[0],
            account_sid=self.account.sid,
        )


def send_inbound(
    to_url: str,
    from_: str,
    body: str,
    auth_token: str,
    public_url: str | None = None,
    *,
    to: str = "+15017122661",
    account_sid: str = "AC" + "0" * 32,
) -> httpx.Response:
    """POST an inbound-SMS webhook (form) to ``to_url`` with a correct ``X-Twilio-Signature``.

    ``public_url`` is the URL Twilio would have signed (the webhook URL as configured), when the app sees
    ``to_url`` through a proxy; it defaults to ``to_url``.
    """
    sid = "SM" + secrets.token_hex(16)
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API,
    }
    signature = compute_signature(auth_token, public_url or to_url, params)
    headers = {
        "X-Twilio-Signature": signature,
        "User-Agent": "TwilioProxy/1.1",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return httpx.post(to_url, content=urlencode(params), headers=headers, timeout=10.0)


def _error_body(status: int, message: str) -> dict[str, Any]:
    code = 20429 if status == 429 else 20500
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def create_twilio_app(state: TwilioState) -> WSGIApp:
    """The WSGI app (faults applied)."""

    def app(environ: WSGIEnv, start_response: StartResponse) -> Iterable[bytes]:
        return _handle(state, Request(environ))(environ, start_response)

    return FaultMiddleware(app, provider="twilio", faults=state.faults, error_body=_error_body)


def _handle(state: TwilioState, request: Request) -> Response:
    match = MESSAGE_PATH.match(request.path)
    if match is None:
        return TwilioError(20404, path=request.path).response()
    auth = request.authorization
    user = auth.username if auth is not None and auth.type == "basic" else None
    account = state.accounts.get(user or "")
    if (
        auth is None
        or account is None
        or not hmac.compare_digest(account.auth_token, auth.password or "")
        or state.faults.credential_state("twilio", account.auth_token) is not None
    ):
        return TwilioError(20003).response()
    if match["sid"] != account.sid:
        return TwilioError(20404, path=request.path).response()
    try:
        if match["msid"]:
            if request.method != "GET":
                return TwilioError(20404, path=request.path).response()
            with state.lock:
                msg = account.messages.get(match["msid"])
            if msg is None:
                raise TwilioError(20404, path=request.path)
            return json_response(msg)
        if request.method == "POST":
            return json_response(_create(state, account, request), 201)
        if request.method == "GET":
            return json_response(_list(state, account, request))
    except TwilioError as err:
        return err.response()
    return TwilioError(20404, path=request.path).response()


def _create(state: TwilioState, account: TwilioAccount, request: Request) -> dict[str, Any]:
    form = request.form
    to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    media = form.getlist("MediaUrl")
    if not to:
        raise TwilioError(21604)
    if not from_ and not form.get("MessagingServiceSid"):
        raise TwilioError(21603)
    if not body and not media:
        raise TwilioError(21602)
    if len(body) > 1600:
        raise TwilioError(21617)
    if account.test:
        if from_ in MAGIC_FROM:
            raise TwilioError(MAGIC_FROM[from_], to=to, from_=from_)
        if from_ not in account.numbers:
            raise TwilioError(21606, to=to, from_=from_)
        if to in MAGIC_TO:
            raise TwilioError(MAGIC_TO[to], to=to, from_=from_)
    if not E164.match(to):
        raise TwilioError(21211, to=to, from_=from_)
    if from_ and from_ not in account.numbers:
        raise TwilioError(21606, to=to, from_=from_)
    now = datetime.now(UTC)
    sid = ("MM" if media else "SM") + secrets.token_hex(16)
    uri = f"/{API}/Accounts/{account.sid}/Messages/{sid}.json"
    msg: dict[str, Any] = {
        "account_sid": account.sid,
        "api_version": API,
        "body": body,
        "date_created": _rfc2822(now),
        "date_sent": None,
        "date_updated": _rfc2822(now),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": from_ or None,
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": str(len(media)),
        "num_segments": str(max(1, -(-len(body) // 160))),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {
            "media": f"/{API}/Accounts/{account.sid}/Messages/{sid}/Media.json",
            "feedback": f"/{API}/Accounts/{account.sid}/Messages/{sid}/Feedback.json",
        },
        "to": to,
        "uri": uri,
    }
    snapshot = dict(msg)
    if not account.test:
        with state.lock:
            account.messages[sid] = msg
        state.faults.count("twilio.messages")
        callback = form.get("StatusCallback")
        threading.Thread(target=_advance, args=(state, account, sid, callback), daemon=True).start()
    else:
        state.faults.count("twilio.test_messages")
    return snapshot


def _advance(state: TwilioState, account: TwilioAccount, sid: str, callback: str | None) -> None:
    for status in ("sent", "delivered"):
        with state.lock:
            msg = account.messages[sid]
            msg["status"] = status
            now = _rfc2822(datetime.now(UTC))
            msg["date_updated"] = now
            if status == "sent":
                msg["date_sent"] = now
                msg["price"] = "-0.00790"
            snapshot = dict(msg)
        if callback:
            params = {
                "AccountSid": account.sid,
                "From": snapshot["from"] or "",
                "To": snapshot["to"],
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "ApiVersion": API,
            }
            headers = {"X-Twilio-Signature": compute_signature(account.auth_token, callback, params)}
            try:
                resp = httpx.post(callback, data=params, headers=headers, timeout=5.0)
                code: int | None = resp.status_code
            except httpx.HTTPError:
                code = None
            with state.lock:
                state.status_callbacks.append({"url": callback, "params": params, "status": code})
            state.faults.count("twilio.status_callbacks")


def _list(state: TwilioState, account: TwilioAccount, request: Request) -> dict[str, Any]:
    args = request.args
    with state.lock:
        rows = [dict(m) for m in reversed(account.messages.values())]
    if args.get("To"):
        rows = [m for m in rows if m["to"] == args["To"]]
    if args.get("From"):
        rows = [m for m in rows if m["from"] == args["From"]]
    size = max(1, min(int(args.get("PageSize", 50) or 50), 1000))
    page = max(0, int(args.get("Page", 0) or 0))
    base = f"/{API}/Accounts/{account.sid}/Messages.json"
    filters = {k: v for k, v in args.items() if k in ("To", "From")}

    def uri(p: int) -> str:
        return f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': p})}"

    chunk = rows[page * size : (page + 1) * size]
    has_next = (page + 1) * size < len(rows)
    return {
        "messages": chunk,
        "page": page,
        "page_size": size,
        "uri": uri(page),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) + f"&PageToken=PA{page + 1}" if has_next else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": page * size,
        "end": page * size + max(len(chunk) - 1, 0),
    }
