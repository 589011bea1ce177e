"""Text preparation for the rule parser: placeholders, contractions, tokens, lemmas and typo repair.

The pipeline is ``prepare(text) -> Prepared``:

1. web addresses and run ids are cut out of the *original* text (case kept) and replaced by placeholders,
2. the rest is lower-cased, contractions are expanded ("what's" → "what is", "isn't" → "is not"),
3. punctuation becomes spaces (``:`` stays inside clock times such as ``6:30``),
4. each unknown word within a small Damerau-Levenshtein distance of exactly one keyword is replaced by that
   keyword ("conect" → "connect", "stirpe" → "stripe"); words of the registry's own sample utterances and a
   short list of everyday words are never "repaired",
5. a small lemma table folds inflections that carry no meaning for us ("sold" → "sell", "deleted" → "delete").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from core.intents import (
    INTENTS,
    MIGRATION_SYNONYMS,
    REPORT_SYNONYMS,
    SERVICE_SYNONYMS,
    TASK_SYNONYMS,
    WEEKDAYS,
    WORKFLOW_SYNONYMS,
    normalize_store_url,
)

URL_PLACEHOLDER = "urlref"
RUN_PLACEHOLDER = "runref"
_PLACEHOLDERS = frozenset({URL_PLACEHOLDER, RUN_PLACEHOLDER})

_SCHEMEFUL_URL_RE = re.compile(r"(?i)\bhttps?://[^\s<>\"',;!?()]+")
_BARE_URL_RE = re.compile(
    r"(?i)(?<![\w@./-])"
    r"(?:localhost:\d{2,5}|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})"
    r"(?::\d{2,5})?"
    r"(?:/[^\s<>\"',;!?()]*)?"
)
_RUN_ID_RE = re.compile(r"(?<![\w-])((?:r|run)_[A-Za-z0-9][A-Za-z0-9_-]{0,59})(?![\w-])", re.IGNORECASE)

_CONTRACTIONS: tuple[tuple[str, str], ...] = (
    (r"\bcan't\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"\bain't\b", "is not"),
    (r"n't\b", " not"),
    (r"\b(what|it|that|how|where|who|there|here|he|she)'s\b", r"\1 is"),
    (r"\blet's\b", "let us"),
    (r"\bi'm\b", "i am"),
    (r"'re\b", " are"),
    (r"'ve\b", " have"),
    (r"'ll\b", " will"),
    (r"'d\b", " would"),
    (r"'s\b", ""),
)

#: Inflections folded to one form before matching (left: as typed after repair; right: lemma).
LEMMAS: dict[str, str] = {
    "sold": "sell",
    "sells": "sell",
    "selling": "sell",
    "sellers": "seller",
    "bestsellers": "bestseller",
    "products": "product",
    "items": "item",
    "deleted": "delete",
    "deleting": "delete",
    "erased": "erase",
    "removed": "remove",
    "removing": "remove",
    "wiped": "wipe",
    "purged": "purge",
    "exported": "export",
    "downloaded": "download",
    "installed": "install",
    "installing": "install",
    "connecting": "connect",
    "integrated": "integrate",
    "integrating": "integrate",
    "restocking": "restock",
    "restocked": "restock",
    "reordering": "reorder",
    "replenishing": "replenish",
    "migrating": "migrate",
    "migrated": "migrate",
    "moving": "move",
    "switching": "switch",
    "leaving": "leave",
    "transferring": "transfer",
    "revoked": "revoke",
    "disconnected": "disconnect",
    "unlinked": "unlink",
    "fixed": "fix",
    "repaired": "repair",
    "cancelled": "cancel",
    "canceled": "cancel",
    "aborted": "abort",
    "unscheduled": "unschedule",
    "reports": "report",
    "u": "you",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "ur": "your",
    "everyday": "every day",
    "setup": "set up",
    "hookup": "hook up",
    "signup": "sign up",
}


def wordlist(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words``."""
    return frozenset(words.split())


#: Words the parser reacts to, beyond the registry's synonym tables (typo repair targets these).
KEYWORDS: frozenset[str] = (
    wordlist(
        """
    set up setup configure connect install add hook integrate integration integrations link enable activate
    turn put accept start launch build onboard ready entire whole complete full scratch everything
    migrate migration move transfer port switch leave replace copy from into onto over
    schedule scheduled recurring automate automatically routine workflow every each daily weekly nightly
    morning mornings afternoon evening evenings night nights noon midnight week weeks day days once
    report reports summary sales revenue numbers restock reorder replenish inventory stock both
    best seller sellers bestseller selling popular today yesterday month last past this previous thirty
    status progress update going along finished finish done still running happening far check
    cancel stop abort halt kill terminate job task process current
    unschedule discontinue disable deactivate schedules automation automations automated repeating standing consent
    routines
    list show which integrations connections connected linked hooked services apps accounts active
    revoke disconnect unlink deauthorize deauthorise uninstall access accessing remove delete keys
    fix repair broken working failing failed error errors wrong reconnect troubleshoot tracking firing expired
    export download copy data information personal account gdpr erase wipe purge forget close rid
    help commands options confused able
    yes yeah okay sure confirm approve absolutely definitely correct affirmative proceed agreed
    nope thanks later never mind negative decline reject
    agree approved automatic confirmed declined info service stats tasks thank updates
    year years weekday workday fortnight biweekly fortnightly monthly yearly annually quarterly hourly touching having
    """
    )
    | frozenset(w for w in WEEKDAYS)
    | frozenset(w + "s" for w in WEEKDAYS)
)

#: Everyday words that must never be "repaired" into a keyword ("score" is not "store").
COMMON_WORDS: frozenset[str] = wordlist(
    """
    a an the and or but if so to of in on at by for with about as is are was were be been am do does did
    i me my mine you your we our us they them it its this that these those he she his her there here
    what when where who whom why how which can could would should will shall may might must not no
    tell call time mind fine bill mail score game games more most less much many some any all one two ten
    store stores shop shops site website page sale sell send sent text test tests best rest west note
    post host cost most just also than then now new old good great nice well very really please thanks
    want need like love make made take took give gave get got go went come came see saw look know knew
    think say said ask asked work works book books food code mode node hope home name same came case
    date data gate late rate state file mile fire hire wire line mine nine pine sign size type
    light lights right sights tonight weather music joke jokes movie movies song songs news
    """
)


@dataclass(frozen=True)
class Prepared:
    """One message after preparation: tokens to match on, and what was cut out of it."""

    original: str
    tokens: tuple[str, ...]
    urls: tuple[str, ...]
    run_ids: tuple[str, ...]

    @property
    def text(self) -> str:
        """The tokens joined by single spaces, with a leading and trailing space for phrase search."""
        return " " + " ".join(self.tokens) + " "


def _words(phrases: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for phrase in phrases:
        out.update(re.findall(r"[a-z0-9]+", phrase.lower()))
    return out


@lru_cache(maxsize=1)
def _targets_and_known() -> tuple[frozenset[str], frozenset[str]]:
    synonym_words: set[str] = set()
    for table in (SERVICE_SYNONYMS, MIGRATION_SYNONYMS, REPORT_SYNONYMS, TASK_SYNONYMS, WORKFLOW_SYNONYMS):
        for names in table.values():
            synonym_words |= _words(names)
    targets = frozenset(w for w in (KEYWORDS | synonym_words) if len(w) >= 4 and w.isalpha())
    registry_words = _words(u for spec in INTENTS.values() for u in spec.utterances)
    known = frozenset(targets | registry_words | COMMON_WORDS | set(LEMMAS) | KEYWORDS | synonym_words | _PLACEHOLDERS)
    return targets, known


def damerau(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment edit distance between ``a`` and ``b``; returns ``limit + 1`` once exceeded."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)]


@lru_cache(maxsize=4096)
def repair(word: str) -> str:
    """Return the single keyword ``word`` is a typo of, or ``word`` itself.

    Words of 4 to 7 letters may be one edit away (a transposition counts as one), longer words two. Ties
    between different keywords leave the word alone: guessing is worse than not understanding.
    """
    targets, known = _targets_and_known()
    if word in known or len(word) < 4 or not word.isalpha():
        return word
    limit = 2 if len(word) >= 8 else 1
    best: list[str] = []
    best_d = limit + 1
    for target in targets:
        if target[0] != word[0]:
            continue  # typos rarely hit the first letter; requiring it keeps "lights" from becoming "nights"
        d = damerau(word, target, limit)
        if d < best_d:
            best, best_d = [target], d
        elif d == best_d and d <= limit:
            best.append(target)
    if best_d <= limit and len(best) == 1:
        return best[0]
    return word


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, normalized)`` of web addresses and ``*.myshopify.com`` hosts in ``text``."""
    spans: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for regex in (_SCHEMEFUL_URL_RE, _BARE_URL_RE):
        for m in regex.finditer(text):
            start, end = m.span()
            if any(s <= start < e for s, e in taken):
                continue
            raw = m.group(0).rstrip(".:")
            try:
                normalized = normalize_store_url(raw)
            except ValueError:
                continue
            spans.append((start, start + len(raw), normalized))
            taken.append((start, end))
    return sorted(spans)


def placeholders(text: str) -> tuple[str, list[str], list[str]]:
    """``text`` with store addresses and run ids replaced by placeholders, and the (normalized) values found.

    Every language prepares its text with this first: addresses and run ids are not words of any language.
    """
    raw = text.replace("\u2019", "'").replace("\u2018", "'")
    urls: list[str] = []
    run_ids: list[str] = []
    pieces: list[str] = []
    pos = 0
    for start, end, normalized in find_urls(raw):
        pieces.append(raw[pos:start])
        pieces.append(f" {URL_PLACEHOLDER} ")
        urls.append(normalized)
        pos = end
    pieces.append(raw[pos:])

    def _run(m: re.Match[str]) -> str:
        run_ids.append(m.group(1))
        return f" {RUN_PLACEHOLDER} "

    return _RUN_ID_RE.sub(_run, "".join(pieces)), urls, run_ids


def prepare(text: str) -> Prepared:
    """Prepare ``text`` for matching (see the module docstring)."""
    rest, urls, run_ids = placeholders(text)
    rest = rest.lower()
    for pattern, repl in _CONTRACTIONS:
        rest = re.sub(pattern, repl, rest)
    rest = re.sub(r"(\d)[.:](\d\d)\b", r"\1:\2", rest)
    rest = re.sub(r"(?<!\d):|:(?!\d)", " ", rest)
    rest = re.sub(r"[^a-z0-9: ]+", " ", rest)
    tokens: list[str] = []
    for word in rest.split():
        fixed = repair(word)
        tokens.extend(LEMMAS.get(fixed, fixed).split())
    return Prepared(original=text, tokens=tuple(tokens), urls=tuple(urls), run_ids=tuple(run_ids))


def lemma_phrase(phrase: str) -> str:
    """A synonym phrase folded the same way as prepared text (for matching synonyms against tokens)."""
    words = re.sub(r"[^a-z0-9 ]+", " ", phrase.lower()).split()
    return " ".join(" ".join(LEMMAS.get(w, w).split()) for w in words)
