"""Accuracy of the rule parser on the hand-written labelled set and the multi-turn dialogues.

Intent accuracy counts items whose intent is right; param accuracy counts, among those, items whose params
equal the labelled params exactly. Dialogue accuracy counts dialogues whose every turn is right. The figures
are printed, attached to the JUnit report (``record_property``) and written to ``benchmarks/results/nlu.md``
(machine-independent: counts and misses only, no timings).
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
LABELLED = ROOT / "tests" / "fixtures" / "nlu_labelled.jsonl"
DIALOGUES = ROOT / "tests" / "fixtures" / "nlu_dialogues.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "nlu.md"
TARGET = 0.95


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _labelled_scores() -> tuple[int, int, int, list[str], Counter[str], Counter[str]]:
    rows = _load(LABELLED)
    intent_ok = params_ok = 0
    misses: list[str] = []
    per_intent: Counter[str] = Counter()
    per_intent_ok: Counter[str] = Counter()
    for row in rows:
        got = parse(row["text"])
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
    dialogues = _load(DIALOGUES)
    good = 0
    misses: list[str] = []
    for dialogue in dialogues:
        turns = dialogue["turns"]
        intent = turns[0]["intent"]
        ok = True
        for turn in turns:
            if "param" in turn:
                got: Any = extract_param(intent, turn["param"], turn["text"])
                if got != turn["value"]:
                    ok = False
                    misses.append(f"{turns[0]['text']!r} / {turn['param']} ← {turn['text']!r}: {got!r}")
            else:
                res = parse(turn["text"])
                if (res.intent, res.params) != (turn["intent"], turn["params"]):
                    ok = False
                    misses.append(f"{turn['text']!r} → {res.intent} {res.params}")
        good += ok
    return len(dialogues), good, misses


GERMAN_HEADING = "### German (de-DE)"  # written by test_nlu_accuracy_de.py; kept here


def _write_results(lines: list[str]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    german = GERMAN_HEADING + current.split(GERMAN_HEADING, 1)[1] if GERMAN_HEADING in current else ""
    RESULTS.write_text("\n".join(lines) + "\n" + ("\n" + german if german else ""), encoding="utf-8")


def test_labelled_set_is_large_varied_and_valid() -> None:
    rows = _load(LABELLED)
    assert len(rows) >= 170
    assert len({r["text"].lower() for r in rows}) == len(rows), "duplicate utterances"
    assert set(r["intent"] for r in rows) == set(INTENTS), "every intent is covered"
    registry_samples = {u.lower() for spec in INTENTS.values() for u in spec.utterances}
    assert not [r["text"] for r in rows if r["text"].lower() in registry_samples], "not copied from the registry"
    for row in rows:
        assert INTENTS[row["intent"]].validate_params(row["params"]) == row["params"], row


def test_intent_and_param_accuracy(record_property: Callable[[str, object], None]) -> None:
    total, intent_ok, params_ok, misses, per_intent, per_intent_ok = _labelled_scores()
    d_total, d_good, d_misses = _dialogue_scores()
    intent_acc = intent_ok / total
    param_acc = params_ok / intent_ok
    dialogue_acc = d_good / d_total
    record_property("nlu_intent_accuracy", f"{intent_acc:.4f}")
    record_property("nlu_param_accuracy", f"{param_acc:.4f}")
    record_property("nlu_dialogue_accuracy", f"{dialogue_acc:.4f}")
    summary = (
        f"NLU rule parser: intent accuracy {intent_acc:.1%} ({intent_ok}/{total}), "
        f"param accuracy {param_acc:.1%} ({params_ok}/{intent_ok}), "
        f"dialogue accuracy {dialogue_acc:.1%} ({d_good}/{d_total})"
    )
    print(summary)
    lines = [
        "## NLU (rule parser, `chat/nlu`)",
        "",
        "Produced by `tests/unit/test_nlu_accuracy.py` from `tests/fixtures/nlu_labelled.jsonl` and",
        "`tests/fixtures/nlu_dialogues.jsonl`. Deterministic: the same on every machine.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| intent accuracy | {intent_acc:.1%} ({intent_ok}/{total}) | ≥ 95% |",
        f"| param accuracy (exact match, among correct intents) | {param_acc:.1%} ({params_ok}/{intent_ok}) | ≥ 95% |",
        f"| multi-turn dialogues fully right | {dialogue_acc:.1%} ({d_good}/{d_total}) | ≥ 95% |",
        "",
        "| intent | utterances | intent right |",
        "|---|---|---|",
        *(f"| `{name}` | {per_intent[name]} | {per_intent_ok[name]} |" for name in sorted(per_intent)),
        "",
        "How the set was built: the first 252 utterances and the 33 dialogues were written before the parser.",
        "Two later rounds were measured as held-out before any change, then added to the set: round 2",
        "(48 utterances) scored 85.4% intent / 100% params, round 3 (44 utterances) 81.8% intent / 100%",
        "params. The registry's own sample utterances (never part of this set) scored 97.8% intent before",
        "the first general fixes. Fixes were general rules or registry synonyms, not per-sentence cases.",
        "Round 4 (16 utterances, 2 dialogues: stopping scheduled work with `revoke_access`) was written",
        "together with the rules for it, so it is not a held-out measure; its one miss on the first run",
        '(a weekday naming the schedule: "the monday sales report") was fixed by a general rule.',
        "",
        "Misses:" if misses or d_misses else "Misses: none.",
        *(f"- {m}" for m in misses + d_misses),
    ]
    _write_results(lines)
    assert intent_acc >= TARGET, summary + "\n" + "\n".join(misses)
    assert param_acc >= TARGET, summary + "\n" + "\n".join(misses)
    assert dialogue_acc >= TARGET, summary + "\n" + "\n".join(d_misses)


@pytest.mark.parametrize("dialogue", _load(DIALOGUES), ids=lambda d: d["turns"][0]["text"][:40])
def test_dialogue_first_turn_asks_for_what_is_missing(dialogue: dict[str, Any]) -> None:
    """Each dialogue is realistic: an answered param was really missing from the first parse."""
    first, *rest = dialogue["turns"]
    spec = INTENTS[first["intent"]]
    for turn in rest:
        if "param" in turn:
            assert turn["param"] in spec.prompts, "the registry has a question for it"
            assert turn["param"] not in first["params"]
