"""Unit tests of the rule parser's pieces: addresses, schedules, synonyms, typos, answers, the CLI hook."""

from __future__ import annotations

import argparse
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat import nlu
from chat.nlu import Parser, ParseResult, RuleParser, build_parser, entities, extract_param, main_parse, parse, rules
from chat.nlu.text import damerau, prepare, repair
from core.intents import INTENTS, normalize_schedule


def test_issue_example_woocommerce() -> None:
    assert parse("set up my WooCommerce store").as_json() == {
        "intent": "setup_integration",
        "params": {"service": "woocommerce"},
    }


def test_parse_result_is_frozen_and_bounded() -> None:
    result = parse("connect stripe")
    assert isinstance(result, ParseResult)
    with pytest.raises(ValueError):
        result.intent = "help"  # type: ignore[misc]
    assert 0.0 <= result.confidence <= 1.0
    assert parse("play some jazz").intent == "unknown"
    assert parse("play some jazz").confidence < result.confidence


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("connect shopify to Cool-Shirts.MyShopify.com", "https://cool-shirts.myshopify.com"),
        ("set up stripe on HTTPS://Shop.Example.com/?utm=1#top", "https://shop.example.com"),
        ("install analytics at http://shop.example.com:8080/wp/", "http://shop.example.com:8080/wp"),
        ("add the pixel to www.example.co.uk.", "https://www.example.co.uk"),
        ("connect woocommerce (https://store.example.org/shop), thanks", "https://store.example.org/shop"),
        ("hook up mailchimp for <https://news.example.com>", "https://news.example.com"),
    ],
)
def test_store_addresses_are_extracted_and_normalized(text: str, url: str) -> None:
    assert parse(text).params["store_url"] == url


def test_email_addresses_and_versions_are_not_store_addresses() -> None:
    assert "store_url" not in parse("connect sendgrid for bob@example.com").params
    assert prepare("every day at 6.30").urls == ()


@pytest.mark.parametrize(
    ("text", "schedule"),
    [
        ("every Monday send the sales report", "every monday"),
        ("each morning send the sales report", "every day at 09:00"),
        ("weekly sales report", "every week"),
        ("every friday at 5pm send a sales report", "every friday at 17:00"),
        ("every friday at 5 p.m. send a sales report", "every friday at 17:00"),
        ("sales report every day at 12am", "every day at 00:00"),
        ("sales report every day at 12pm", "every day at 12:00"),
        ("on sundays at 20:45 restock low stock", "every sunday at 20:45"),
        ("restock every night", "every day at 21:00"),
        ("restock each evening at 7:05pm", "every day at 19:05"),
        ("tuesday mornings send me the sales report", "every tuesday at 09:00"),
        ("send the sales report daily at midnight", "every day at 00:00"),
        ("everyday at 8 send the sales report", "every day at 08:00"),
    ],
)
def test_schedule_phrases(text: str, schedule: str) -> None:
    result = parse(text)
    assert result.intent == "schedule_workflow"
    assert result.params["schedule"] == schedule
    assert normalize_schedule(schedule) == schedule


def test_schedule_needs_a_recurrence_except_when_answering() -> None:
    assert entities.schedule(prepare("on monday at 9am").text) is None
    assert entities.schedule(prepare("monday").text, answering=True) == "every monday"
    assert entities.schedule(prepare("9am").text, answering=True) == "every day at 09:00"
    assert entities.schedule(prepare("at 25:00").text, answering=True) is None


def test_task_lists() -> None:
    assert parse("every week send a sales report and restock low inventory").params["tasks"] == [
        "sales_report",
        "restock_low_inventory",
    ]
    assert parse("every week replenish stock").params["tasks"] == ["restock_low_inventory"]
    assert extract_param("schedule_workflow", "tasks", "both please") == ["sales_report", "restock_low_inventory"]


@pytest.mark.parametrize(
    ("said", "service"),
    [
        ("woo commerce", "woocommerce"),
        ("WooCommerce", "woocommerce"),
        ("meta pixel", "facebook_pixel"),
        ("GA4", "google_analytics"),
        ("ga 4", "google_analytics"),
        ("mail chimp", "mailchimp"),
        ("send grid", "sendgrid"),
        ("chat bubble", "widget"),
        ("card payments", "stripe"),
    ],
)
def test_service_synonyms(said: str, service: str) -> None:
    assert parse(f"connect {said}").params == {"service": service}
    assert extract_param("revoke_access", "service", said) == service


@pytest.mark.parametrize(
    ("typo", "word"),
    [("conect", "connect"), ("stirpe", "stripe"), ("shopfy", "shopify"), ("analitycs", "analytics"), ("hlep", "help")],
)
def test_typos_are_repaired_to_one_keyword(typo: str, word: str) -> None:
    assert repair(typo) == word


def test_everyday_words_are_not_repaired() -> None:
    for word in ("score", "lights", "tell", "store", "stop", "shop", "weather"):
        assert repair(word) == word


def test_damerau_counts_a_transposition_as_one_edit() -> None:
    assert damerau("stirpe", "stripe", 2) == 1
    assert damerau("abc", "abcdef", 1) == 2


def test_every_word_the_rules_react_to_survives_typo_repair() -> None:
    """A keyword must never be "repaired" into another one (that silently disables a rule)."""
    words: set[str] = set()
    for pattern in rules.SIG.values():
        words |= set(re.findall(r"[a-z]{4,}", pattern.pattern))
    for phrase, _ in rules._POLAR:
        words |= {w for w in phrase if len(w) >= 4}
    for value in vars(entities).values():
        if isinstance(value, re.Pattern):
            words |= set(re.findall(r"[a-z]{4,}", value.pattern))
    changed = {w: repair(w) for w in sorted(words) if repair(w) != w}
    assert changed == {}


def test_mixed_case_and_punctuation() -> None:
    assert parse("DISCONNECT MAILCHIMP!!!").as_json() == {"intent": "revoke_access", "params": {"service": "mailchimp"}}
    assert parse("  What's   running LOW?? ").params == {"report": "low_stock"}


def test_run_ids_keep_their_case() -> None:
    assert parse("status of run_AbC9").params == {"run_id": "run_AbC9"}
    assert parse("cancel r_8f2k1 please").as_json() == {"intent": "cancel_job", "params": {"run_id": "r_8f2k1"}}


def test_migration_roles() -> None:
    assert parse("replace paypal with stripe").params == {"source": "paypal", "target": "stripe"}
    assert parse("migrate shopify into woo").params == {"source": "shopify", "target": "woocommerce"}
    assert parse("migrate onto shopify").params == {"target": "shopify"}


@pytest.mark.parametrize("text", ["", "   ", "?!", "blah blah", "what's the weather", "cancel my gym membership"])
def test_out_of_scope_is_unknown(text: str) -> None:
    assert parse(text).as_json() == {"intent": "unknown", "params": {}}


def test_every_parse_validates_through_the_registry() -> None:
    for spec in INTENTS.values():
        for utterance in spec.utterances:
            result = parse(utterance)
            assert INTENTS[result.intent].validate_params(result.params) == result.params


def test_extract_param_fills_missing_params() -> None:
    assert extract_param("setup_integration", "store_url", "mystore.com") == "https://mystore.com"
    assert extract_param("setup_integration", "service", "woocommerce") == "woocommerce"
    assert extract_param("migrate_store", "target", "to shopify") == "shopify"
    assert extract_param("store_report", "period", "for last month") == "last_month"
    assert extract_param("setup_store", "platform", "we use woo") == "woocommerce"
    assert extract_param("setup_integration", "store_url", "no idea") is None
    assert extract_param("setup_integration", "nonsense", "mystore.com") is None
    assert extract_param("no_such_intent", "service", "stripe") is None


def test_build_parser_without_a_key_is_the_rule_parser() -> None:
    parser = build_parser(None, None)
    assert isinstance(parser, RuleParser)
    assert isinstance(parser, Parser)
    assert isinstance(build_parser("", "http://127.0.0.1:1/v1"), RuleParser)


def test_main_parse_prints_json() -> None:
    out = io.StringIO()
    assert main_parse("set up my WooCommerce store", "en-US", out=out) == 0
    assert json.loads(out.getvalue()) == {"intent": "setup_integration", "params": {"service": "woocommerce"}}


def test_register_cli_adds_the_parse_command(capsys: pytest.CaptureFixture[str]) -> None:
    top = argparse.ArgumentParser(prog="omniops")
    nlu.register_cli(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["parse", "revoke stripe access", "--locale", "en-GB"])
    assert args.locale == "en-GB"
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out) == {"intent": "revoke_access", "params": {"service": "stripe"}}


_WORDS = ["set", "up", "stripe", "every", "monday", "at", "5pm", "r_1a", "shop.example.com", "from", "to", "no"]


@settings(max_examples=120, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(_WORDS), max_size=10).map(" ".join)))
def test_parse_never_raises_and_always_validates(text: str) -> None:
    result = parse(text)
    assert result.intent in INTENTS
    assert INTENTS[result.intent].validate_params(result.params) == result.params
    for param in INTENTS[result.intent].params.model_fields:
        extract_param(result.intent, param, text)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("is stripe connected?", "list_integrations"),
        ("are my analytics and pixel set up", "list_integrations"),
        ("is the stripe setup finished?", "job_status"),
        ("I am leaving shopify", "migrate_store"),
        ("stop!", "deny"),
        ("stop the setup!", "cancel_job"),
    ],
)
def test_questions_about_state_are_not_requests_to_act(text: str, intent: str) -> None:
    assert parse(text).intent == intent
