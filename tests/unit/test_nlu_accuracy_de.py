"""Accuracy of the German rules (``locale="de-DE"``) on two hand-written labelled rounds and the dialogues.

How the German set was built, and what it scored (intent accuracy; param accuracy counts exact params among
the items whose intent is right):

- Round 1 (``nlu_labelled_de_round1.jsonl``, 71 utterances over every intent, and the 11 dialogues of
  ``nlu_dialogues_de.jsonl``) was written *before* the German rules, then the rules were written with it in
  view: 71/71 intent, 71/71 params, 11/11 dialogues on their first run. A tuning score, not a held-out one.
- Round 2 (``nlu_labelled_de_round2.jsonl``, 74 new utterances with different phrasings, and the 4 dialogues
  of ``nlu_dialogues_de_round2.jsonl``) was written after the rules and committed before it was scored, then
  scored blind: **72/74 intent (97.3%), 72/72 params (100%), 4/4 dialogues**. Its two misses are left as
  they are (no tuning on round 2): "Bau mir bitte den Chat auf der Webseite ein" (a bare "Chat" is not a
  widget synonym → ``setup_store``) and "Irgendwas stimmt mit Shopify nicht" ("stimmt … nicht" allows one
  word in between → ``setup_integration``).

The figures are printed, attached to the JUnit report and written to the German section of
``benchmarks/results/nlu.md`` (the English accuracy test keeps that section when it rewrites the file).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chat.nlu import extract_param, parse
from core.intents import INTENTS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
ROUND1 = FIXTURES / "nlu_labelled_de_round1.jsonl"
ROUND2 = FIXTURES / "nlu_labelled_de_round2.jsonl"
DIALOGUES = (FIXTURES / "nlu_dialogues_de.jsonl", FIXTURES / "nlu_dialogues_de_round2.jsonl")
RESULTS = ROOT / "benchmarks" / "results" / "nlu.md"
GERMAN_HEADING = "### German (de-DE)"
LOCALE = "de-DE"

#: What the measured scores meet (round 1: 100%, round 2 blind: 97.3% intent, 100% params, dialogues 15/15).
ROUND1_TARGET = 0.97
ROUND2_INTENT_TARGET = 0.95
PARAM_TARGET = 0.95
DIALOGUE_TARGET = 0.9


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _dialogues() -> list[dict[str, Any]]:
    return [d for path in DIALOGUES for d in _load(path)]


def _score(rows: list[dict[str, Any]]) -> tuple[int, int, int, list[str], Counter[str], Counter[str]]:
    intent_ok = params_ok = 0
    misses: list[str] = []
    per_intent: Counter[str] = Counter()
    per_intent_ok: Counter[str] = Counter()
    for row in rows:
        got = parse(row["text"], locale=LOCALE)
        per_intent[row["intent"]] += 1
        if got.intent != row["intent"]:
            misses.append(f"intent: {row['text']!r} → {got.intent} (labelled {row['intent']})")
            continue
        intent_ok += 1
        per_intent_ok[row["intent"]] += 1
        if got.params == row["params"]:
            params_ok += 1
        else:
            misses.append(f"params: {row['text']!r} → {got.params} (labelled {row['params']})")
    return len(rows), intent_ok, params_ok, misses, per_intent, per_intent_ok


def _dialogue_scores() -> tuple[int, int, list[str]]:
    good = 0
    misses: list[str] = []
    dialogues = _dialogues()
    for dialogue in dialogues:
        turns = dialogue["turns"]
        intent = turns[0]["intent"]
        ok = True
        for turn in turns:
            if "param" in turn:
                got: Any = extract_param(intent, turn["param"], turn["text"], LOCALE)
                if got != turn["value"]:
                    ok = False
                    misses.append(f"{turns[0]['text']!r} / {turn['param']} ← {turn['text']!r}: {got!r}")
            else:
                res = parse(turn["text"], locale=LOCALE)
                if (res.intent, res.params) != (turn["intent"], turn["params"]):
                    ok = False
                    misses.append(f"{turn['text']!r} → {res.intent} {res.params}")
        good += ok
    return len(dialogues), good, misses


def write_german_section(lines: list[str]) -> None:
    """Replace (or add) the German section at the end of ``benchmarks/results/nlu.md``."""
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    english = current.split(GERMAN_HEADING)[0].rstrip("\n")
    RESULTS.write_text((english + "\n\n" if english else "") + "\n".join(lines) + "\n", encoding="utf-8")


def test_german_sets_are_large_varied_and_valid() -> None:
    r1, r2 = _load(ROUND1), _load(ROUND2)
    assert len(r1) >= 60 and len(r2) >= 60 and len(r1) + len(r2) >= 120
    texts = [r["text"].lower() for r in r1 + r2]
    assert len(set(texts)) == len(texts), "duplicate utterances (round 2 must be new)"
    assert {r["intent"] for r in r1} == set(INTENTS), "round 1 covers every intent"
    assert {r["intent"] for r in r2} == set(INTENTS), "round 2 covers every intent"
    for row in r1 + r2:
        assert INTENTS[row["intent"]].validate_params(row["params"]) == row["params"], row
    assert len(_dialogues()) >= 10


@pytest.mark.parametrize("dialogue", _dialogues(), ids=lambda d: d["turns"][0]["text"][:40])
def test_german_dialogue_first_turn_asks_for_what_is_missing(dialogue: dict[str, Any]) -> None:
    first, *rest = dialogue["turns"]
    spec = INTENTS[first["intent"]]
    assert rest
    for turn in rest:
        if "param" in turn:
            assert turn["param"] in spec.prompts, "the registry has a question for it"
            assert turn["param"] not in first["params"]


def test_german_accuracy(record_property: Callable[[str, object], None]) -> None:
    n1, i1, p1, m1, per1, ok1 = _score(_load(ROUND1))
    n2, i2, p2, m2, per2, ok2 = _score(_load(ROUND2))
    d_total, d_good, d_misses = _dialogue_scores()
    per, per_ok = per1 + per2, ok1 + ok2
    record_property("nlu_de_round1_intent_accuracy", f"{i1 / n1:.4f}")
    record_property("nlu_de_round2_intent_accuracy", f"{i2 / n2:.4f}")
    record_property("nlu_de_dialogue_accuracy", f"{d_good / d_total:.4f}")
    summary = (
        f"German rules: round 1 intent {i1 / n1:.1%} ({i1}/{n1}), params {p1 / i1:.1%} ({p1}/{i1}); "
        f"round 2 intent {i2 / n2:.1%} ({i2}/{n2}), params {p2 / i2:.1%} ({p2}/{i2}); "
        f"dialogues {d_good / d_total:.1%} ({d_good}/{d_total})"
    )
    print(summary)
    misses = m1 + m2
    write_german_section(
        [
            GERMAN_HEADING,
            "",
            'Produced by `tests/unit/test_nlu_accuracy_de.py` (`locale="de-DE"`) from',
            "`tests/fixtures/nlu_labelled_de_round1.jsonl`, `nlu_labelled_de_round2.jsonl` and the German dialogues.",
            "",
            "| measure | now | when first scored | target |",
            "|---|---|---|---|",
            f"| round 1 intent accuracy (written before the rules, tuned on) | {i1 / n1:.1%} ({i1}/{n1}) "
            "| 100% (71/71) | ≥ 97% |",
            f"| round 1 param accuracy | {p1 / i1:.1%} ({p1}/{i1}) | 100% (71/71) | ≥ 95% |",
            f"| round 2 intent accuracy (held out, scored blind) | {i2 / n2:.1%} ({i2}/{n2}) | 97.3% (72/74) | ≥ 95% |",
            f"| round 2 param accuracy | {p2 / i2:.1%} ({p2}/{i2}) | 100% (72/72) | ≥ 95% |",
            f"| dialogues fully right | {d_good / d_total:.1%} ({d_good}/{d_total}) | 100% (15/15) | ≥ 90% |",
            "",
            "| intent | utterances | intent right |",
            "|---|---|---|",
            *(f"| `{name}` | {per[name]} | {per_ok[name]} |" for name in sorted(per)),
            "",
            "Round 2 was committed before it was scored, and the rules were not tuned on it afterwards.",
            "",
            "Misses:" if misses or d_misses else "Misses: none.",
            *(f"- {m}" for m in misses + d_misses),
        ]
    )
    assert i1 / n1 >= ROUND1_TARGET, summary + "\n" + "\n".join(m1)
    assert i2 / n2 >= ROUND2_INTENT_TARGET, summary + "\n" + "\n".join(m2)
    assert p1 / i1 >= PARAM_TARGET and p2 / i2 >= PARAM_TARGET, summary + "\n" + "\n".join(misses)
    assert d_good / d_total >= DIALOGUE_TARGET, summary + "\n" + "\n".join(d_misses)
