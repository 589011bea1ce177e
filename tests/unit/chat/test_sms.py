"""chat/sms.py: Twilio's signature algorithm, keyword handling, parsing, TwiML escaping (no I/O)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from chat import sms
from core.commands import AuthLevel, Command, Reply, ResponseType
from core.errors import MalformedRequest
from gateway.sms_optouts import MemorySmsOptOuts
from tests.chat_support import OWNER, stand_in_parse

TOKEN = "12345678901234567890123456789012"
URL = "https://gw.example/v1/channels/twilio/sms"
FORM = {"From": "+15550001111", "To": "+15005550006", "Body": "set up my woocommerce store", "MessageSid": "SM1"}
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _parse(
    body: str, phone: str = OWNER.verified_phones[0], opt_outs: MemorySmsOptOuts | None = None
) -> Command | Reply:
    return sms.parse(
        {**FORM, "From": phone, "Body": body},
        owner_lookup=lambda p: OWNER if p in OWNER.verified_phones else None,
        opt_outs=opt_outs or MemorySmsOptOuts(),
        parse_text=stand_in_parse,
        now=NOW,
        request_id="r1",
    )


def test_signature_matches_twilios_own_validator() -> None:
    official = RequestValidator(TOKEN).compute_signature(URL, FORM)
    assert sms.compute_signature(URL, FORM, TOKEN) == official
    assert sms.verify(URL, FORM, official, TOKEN)


def test_signature_over_repeated_params_sorts_values_like_twilio() -> None:
    form = {**FORM, "MediaUrl0": ["https://b.example/2", "https://a.example/1"]}
    multi = MultiDict([*FORM.items(), ("MediaUrl0", "https://b.example/2"), ("MediaUrl0", "https://a.example/1")])
    assert sms.verify(URL, form, RequestValidator(TOKEN).compute_signature(URL, multi), TOKEN)


def test_bad_signature_wrong_token_or_tampered_body_is_refused() -> None:
    good = sms.compute_signature(URL, FORM, TOKEN)
    assert not sms.verify(URL, FORM, "AAAA" + good[4:], TOKEN)
    assert not sms.verify(URL, FORM, sms.compute_signature(URL, FORM, "other-token"), TOKEN)
    assert not sms.verify(URL, {**FORM, "Body": "delete my data"}, good, TOKEN)
    assert not sms.verify(URL, FORM, None, TOKEN)
    assert not sms.verify(URL, FORM, good, "")


def test_signature_on_the_url_with_or_without_default_port_is_accepted() -> None:
    with_port = sms.compute_signature("https://gw.example:443/v1/channels/twilio/sms", FORM, TOKEN)
    assert sms.verify(URL, FORM, with_port, TOKEN)
    without = sms.compute_signature(URL, FORM, TOKEN)
    assert sms.verify("https://gw.example:443/v1/channels/twilio/sms", FORM, without, TOKEN)
    assert not sms.verify("https://gw.example/v1/channels/twilio/other", FORM, without, TOKEN)
    assert not sms.verify("http://gw.example/v1/channels/twilio/sms", FORM, without, TOKEN)


def test_unknown_phone_gets_a_polite_reply_and_no_command() -> None:
    result = _parse("set up stripe", phone="+15559990000")
    assert isinstance(result, Reply) and "isn't linked" in result.text


def test_yes_with_code_and_no_become_confirm_and_deny() -> None:
    yes = _parse("YES 123456")
    assert isinstance(yes, Command) and yes.intent == "confirm" and yes.text == "YES 123456"
    assert yes.principal.auth is AuthLevel.VERIFIED_PHONE and yes.principal.owner_id == OWNER.id
    assert yes.reply_route.to == OWNER.verified_phones[0]
    no = _parse("no")
    assert isinstance(no, Command) and no.intent == "deny"
    words = _parse("set up my woocommerce store")
    assert isinstance(words, Command) and words.params == {"service": "woocommerce"}


@pytest.mark.parametrize(("body", "intent"), [("JA 123456", "confirm"), ("ja", "confirm"), ("Nein", "deny")])
def test_the_german_answers_the_de_de_texts_ask_for_are_understood(body: str, intent: str) -> None:
    answer = _parse(body)
    assert isinstance(answer, Command) and answer.intent == intent and answer.text == body


def test_stop_opts_out_for_any_sender_then_silence_until_start() -> None:
    outs = MemorySmsOptOuts()
    stop = _parse("Stop", opt_outs=outs)
    assert isinstance(stop, Reply) and "unsubscribed" in stop.text
    assert outs.is_opted_out(OWNER.verified_phones[0])
    silent = _parse("set up stripe", opt_outs=outs)
    assert isinstance(silent, Reply) and sms.render_twiml(silent).endswith("<Response/>")
    start = _parse("START", opt_outs=outs)
    assert isinstance(start, Reply) and not outs.is_opted_out(OWNER.verified_phones[0])
    stranger = _parse("UNSUBSCRIBE", phone="+15559990000", opt_outs=outs)
    assert isinstance(stranger, Reply) and outs.is_opted_out("+15559990000")


def test_help_answers_help_text() -> None:
    reply = _parse("help")
    assert isinstance(reply, Reply) and "STOP" in reply.text and "YES" in reply.text


def test_malformed_sender_is_refused() -> None:
    with pytest.raises(MalformedRequest):
        _parse("hi", phone="not-a-number")


def test_twiml_escapes_markup_and_round_trips() -> None:
    text = 'Fish & <Chips> "quoted" ]]> done'
    xml = sms.render_twiml(Reply(text=text, response_type=ResponseType.QUERY_ANSWER))
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "<Chips>" not in xml and "&amp;" in xml and "&lt;Chips&gt;" in xml
    assert ET.fromstring(xml).find("Message").text == text  # type: ignore[union-attr]


def test_twiml_truncates_to_one_sms_body_limit() -> None:
    xml = sms.render_twiml(Reply(text="x" * 5000, response_type=ResponseType.QUERY_ANSWER))
    assert len(ET.fromstring(xml).find("Message").text) == 1600  # type: ignore[union-attr, arg-type]
