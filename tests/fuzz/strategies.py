"""Hypothesis strategies for channel payloads: valid-shaped and hostile (huge strings, deep nesting, wrong types,
unicode, SSML/HTML injection, forged or missing signatures, stale timestamps)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from core import intents
from voice import slots as vslots

INJECTIONS = (
    "<speak>hi</speak>",
    '<audio src="https://evil.example/x.mp3"/>',
    'Tom & Jerry\'s "mugs" <b>bold</b>',
    "]]><script>alert(1)</script>",
    "</speak><audio src='https://evil.example/a.mp3'/><speak>",
    "&amp;&lt;&#x3c;&#0;",
    "{{7*7}} ${jndi:ldap://x} %s%n",
    "' OR 1=1 --",
    "\u202eevil\u200b\ufeff",
    "🛒🦄 Ünïcödé ÷ 中文 العربية",
    "\x00\x01\x1b[31m",
)
ALEXA_INTENTS = (
    *tuple(vslots.alexa_intent_name(n) for n in intents.INTENTS),
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.NavigateHomeIntent",
)
REQUEST_TYPES = (
    "IntentRequest",
    "LaunchRequest",
    "SessionEndedRequest",
    "CanFulfillIntentRequest",
    "System.ExceptionEncountered",
    "AlexaSkillEvent.SkillAccountLinked",
    "Messaging.MessageReceived",
    "Bogus.Request",
)
SLOT_NAMES = ("service", "store_url", "platform", "report", "period", "run_id", "schedule", "tasks", "source", "target")
GOOGLE_INTENTS = (*tuple(intents.INTENTS), "actions.intent.YES", "actions.intent.NO", "actions.intent.MAIN")


def hostile_text(max_size: int = 300) -> st.SearchStrategy[str]:
    """Short text, injections, unicode, and the occasional huge string."""
    return st.one_of(
        st.text(max_size=max_size),
        st.sampled_from(INJECTIONS),
        st.tuples(st.sampled_from(INJECTIONS), st.text(max_size=40)).map(lambda t: t[0] + t[1]),
        st.sampled_from(("set up woocommerce at shop.example.com", "status", "best sellers", "yes", "no", "help")),
        st.integers(min_value=1_000, max_value=70_000).map(lambda n: "A" * n),
    )


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, moderately nested, with hostile strings."""
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), hostile_text(60)
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
        max_leaves=12,
    )


def deep_nesting() -> st.SearchStrategy[bytes]:
    """Bodies nested past any recursion limit (and still under the 64 KiB body limit)."""
    return (
        st.integers(min_value=50, max_value=20_000)
        .flatmap(
            lambda n: st.sampled_from(
                ("[" * n + "]" * n, '{"a":' * n + "1" + "}" * n, '{"text":' + "[" * n + "]" * n + "}")
            )
        )
        .map(str.encode)
    )


def raw_bodies() -> st.SearchStrategy[bytes]:
    """Not-quite-JSON bodies: bytes, truncated JSON, nesting, wrong top-level types."""
    return st.one_of(
        st.binary(max_size=200),
        deep_nesting(),
        json_values().map(lambda v: json.dumps(v).encode()),
        st.just(b'{"text": "unterminated'),
        st.just(b""),
    )


def alexa_slots() -> st.SearchStrategy[dict[str, Any]]:
    slot = st.builds(
        lambda name, words, rid: {
            "name": name,
            "value": words,
            "confirmationStatus": "NONE",
            **(
                {
                    "resolutions": {
                        "resolutionsPerAuthority": [
                            {"status": {"code": "ER_SUCCESS_MATCH"}, "values": [{"value": {"name": words, "id": rid}}]}
                        ]
                    }
                }
                if rid is not None
                else {}
            ),
        },
        st.sampled_from(SLOT_NAMES),
        hostile_text(120),
        st.one_of(st.none(), st.sampled_from(("woocommerce", "stripe", "best_sellers", "today")), hostile_text(30)),
    )
    return st.lists(slot, max_size=4).map(lambda items: {s["name"]: s for s in items})


def google_params() -> st.SearchStrategy[dict[str, Any]]:
    value = st.builds(lambda o, r: {"original": o, "resolved": r}, hostile_text(80), json_values())
    return st.dictionaries(st.sampled_from(SLOT_NAMES), st.one_of(value, json_values()), max_size=4)
