"""Entity extraction over prepared tokens: services, platforms, schedules, tasks, reports, periods.

Every table comes from ``core.intents``; this module only knows how English strings them together.

Schedule phrasing (the result always passes ``core.intents.normalize_schedule``):

====================================================  =========================
said                                                  normalized
====================================================  =========================
"every day", "daily", "each day", "every single day"  ``every day``
"each morning", "every morning", "mornings"           ``every day at 09:00``
"every afternoon" / "every evening" / "each night"    ``every day at 15:00`` / ``18:00`` / ``21:00``
"weekly", "every week", "once a week"                 ``every week``
"every Monday", "on Mondays", "Mondays", "each mon…"  ``every monday``
"every Monday morning", "Monday mornings"             ``every monday at 09:00``
"every friday at 5pm", "… at 5 p.m."                  ``every friday at 17:00``
"at 8" / "at 08:30" / "at noon" / "at midnight"       ``at 08:00`` / ``08:30`` / ``12:00`` / ``00:00``
====================================================  =========================

An explicit clock time wins over a part of the day ("each night at 11pm" → ``every day at 23:00``). A bare
hour without am/pm is read as written on a 24-hour clock ("at 8" → 08:00, "at 20" → 20:00).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache

from core.intents import (
    MIGRATION_SYNONYMS,
    REPORT_SYNONYMS,
    SERVICE_SYNONYMS,
    TASK_SYNONYMS,
    WEEKDAYS,
    WORKFLOW_SYNONYMS,
    Platform,
    Task,
    Workflows,
)

from .text import lemma_phrase, wordlist

Span = tuple[int, int, str]

_PART_OF_DAY = {"morning": "09:00", "noon": "12:00", "midday": "12:00", "lunchtime": "12:00"}
_PART_OF_DAY |= {"afternoon": "15:00", "evening": "18:00", "night": "21:00", "tonight": "21:00"}
_PARTS_RE = "morning|afternoon|evening|night"
_WD_RE = "|".join(WEEKDAYS)

_REC_WEEKDAY = re.compile(rf" (?:every|each) (?:single )?(?:{_WD_RE})s? | (?:{_WD_RE})s ")
_REC_WEEK = re.compile(r" (?:weekly|(?:every|each|once a|per) (?:single )?week) ")
_REC_DAY = re.compile(
    rf" (?:daily|nightly|(?:every|each|once a|per) (?:single )?(?:day|{_PARTS_RE})|(?:{_PARTS_RE})s) "
)
_REC_UNSUPPORTED = re.compile(
    r" (?:every|each) (?:other|second|2nd|two|2|three|3|few) | (?:every|each) (?:weekday|workday|business day|fortnight"
    r"|month|quarter|year)s? | (?:biweekly|fortnightly|monthly|yearly|annually|quarterly|hourly) "
)
_ANY_WEEKDAY = re.compile(rf" ({_WD_RE})s? ")
_TIME_AMPM = re.compile(r" (?:at |@ )?(\d{1,2})(?::(\d\d))? ?(am|pm|a m|p m) ")
_TIME_AT = re.compile(r" (?:at|@) (\d{1,2})(?::(\d\d))? ")
_TIME_COLON = re.compile(r" (\d{1,2}):(\d\d) ")

_SOURCE_MARKERS = frozenset({"from", "off", "leave", "leaving", "replace", "replacing", "out", "ditch", "quit"})
_TARGET_MARKERS = frozenset({"to", "into", "onto", "for", "with"})
_MARKER_SKIP = wordlist("my the our of over store shop whole entire everything all products customers orders data a an")


@lru_cache(maxsize=8)
def _phrase_table(name: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    table: Mapping[str, tuple[str, ...]] = {
        "service": SERVICE_SYNONYMS,
        "migration": MIGRATION_SYNONYMS,
        "report": REPORT_SYNONYMS,
        "task": TASK_SYNONYMS,
        "workflow": WORKFLOW_SYNONYMS,
    }[name]
    rows = [(tuple(lemma_phrase(p).split()), str(value)) for value, phrases in table.items() for p in phrases]
    rows += [(tuple(lemma_phrase(str(value).replace("_", " ")).split()), str(value)) for value in table]
    return tuple(sorted(set(rows), key=lambda r: -len(r[0])))


def find_phrases(tokens: Sequence[str], table: str) -> list[Span]:
    """Non-overlapping ``(start, end, value)`` mentions of a synonym table, longest phrase first."""
    found: list[Span] = []
    used = [False] * len(tokens)
    for phrase, value in _phrase_table(table):
        n = len(phrase)
        for i in range(len(tokens) - n + 1):
            if tuple(tokens[i : i + n]) == phrase and not any(used[i : i + n]):
                found.append((i, i + n, value))
                for k in range(i, i + n):
                    used[k] = True
    return sorted(found)


def services(tokens: Sequence[str]) -> list[str]:
    """Services mentioned, in order of first mention, without repeats."""
    return unique(v for _, _, v in find_phrases(tokens, "service"))


def platform_of(service_names: Sequence[str]) -> str | None:
    """The first service that is also a store platform (WooCommerce, Shopify)."""
    platforms = {p.value for p in Platform}
    return next((s for s in service_names if s in platforms), None)


def tasks(tokens: Sequence[str]) -> list[str]:
    """Recurring tasks mentioned ("both" means every task), in registry order."""
    if "both" in tokens or " all of them " in f" {' '.join(tokens)} ":
        return [t.value for t in Task]
    named = {v for _, _, v in find_phrases(tokens, "task")}
    return [t.value for t in Task if t.value in named]


def workflows(tokens: Sequence[str]) -> list[str]:
    """Scheduled-workflow targets named ("my schedules", "standing consents", "automations")."""
    return unique(v for _, _, v in find_phrases(tokens, "workflow"))


def revoke_target(tokens: Sequence[str], service_names: Sequence[str], *, about_schedules: bool) -> str | None:
    """What ``revoke_access`` names: a task's scheduled workflows, a service, or every schedule.

    One task named wins when the message is about scheduled work ("stop the weekly stripe report") or names
    no service; otherwise a named service wins ("disconnect stripe"). Scheduled work with no task or
    service named, or both tasks ("both", "all of them"), is every schedule (``schedules``).
    """
    return choose_revoke_target(
        tasks(tokens), service_names, named_workflows=bool(workflows(tokens)), about_schedules=about_schedules
    )


def choose_revoke_target(
    named: Sequence[str], service_names: Sequence[str], *, named_workflows: bool, about_schedules: bool
) -> str | None:
    """The choice of :func:`revoke_target` from what was found (shared by every language's rules)."""
    if len(named) == 1 and (about_schedules or not service_names):
        return named[0]
    if service_names:
        return service_names[0]
    if about_schedules or len(named) > 1 or named_workflows:
        return Workflows.ALL.value
    return None


def recurring(text: str) -> bool:
    """A recurrence is said in prepared ``text`` ("weekly", "every monday", "monthly"), expressible or not."""
    return schedule(text) is not None or unsupported_recurrence(text)


def names_weekday(text: str) -> bool:
    """A weekday is named in prepared ``text`` ("the monday report"), with or without "every"."""
    return _ANY_WEEKDAY.search(text) is not None


def reports(tokens: Sequence[str]) -> list[str]:
    """Reports mentioned, in order of mention (numbers are skipped: "top 10 products" is "top products")."""
    words = [t for t in tokens if not t.isdigit()]
    return unique(v for _, _, v in find_phrases(words, "report"))


def migration(tokens: Sequence[str]) -> dict[str, str]:
    """``source``/``target`` systems from prepositions ("from X to Y", "off X onto Y", "replace X with Y").

    A mention with no marker is the source when the other is the target, the target when the other is the
    source, and the source when it is alone ("migrate my shopify store").
    """
    spans = find_phrases(tokens, "migration")
    markers = (_SOURCE_MARKERS, _TARGET_MARKERS, _MARKER_SKIP)
    return assign_roles([(marked_role(tokens[max(start - 4, 0) : start], markers), value) for start, _, value in spans])


def marked_role(before: Sequence[str], markers: tuple[AbstractSet[str], ...]) -> str | None:
    """``source``/``target`` from the nearest marker word in ``before`` (the words before a mention, in order),
    looking past ``skip`` words only; ``markers`` is a language's (source, target, skip) word sets."""
    source, target, skip = markers
    for word in reversed(before):
        if word in source:
            return "source"
        if word in target:
            return "target"
        if word not in skip:
            return None
    return None


def assign_roles(roles: Sequence[tuple[str | None, str]]) -> dict[str, str]:
    """Marked mentions take their role; unmarked ones fill what is left, source first (every language)."""
    out: dict[str, str] = {}
    for role, value in roles:
        if role and role not in out:
            out[role] = value
    for role, value in roles:
        if role is None and value not in out.values():
            free = "source" if "source" not in out else "target" if "target" not in out else None
            if free:
                out[free] = value
    return out


def period(text: str) -> str | None:
    """The report period in prepared ``text`` (padded with spaces), or ``None``."""
    rules = (
        (r" (?:last|past|previous) (?:30|thirty) days | past month ", "last_30_days"),
        (r" (?:last|previous) week ", "last_week"),
        (r" past week ", "last_week"),
        (r" (?:this|current) week | week so far ", "this_week"),
        (r" (?:last|previous) month ", "last_month"),
        (r" (?:this|current) month | month to date | month so far ", "this_month"),
        (r" yesterday ", "yesterday"),
        (r" today | so far today ", "today"),
    )
    for pattern, value in rules:
        if re.search(pattern, text):
            return value
    return None


def _clock(hour: int, minute: int, ampm: str | None) -> str | None:
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return f"{hour:02d}:{minute:02d}"


def clock_time(text: str) -> str | None:
    """An explicit time of day ("5pm", "at 8", "6:30 pm", "14:00", "noon", "midnight") as ``HH:MM``."""
    m = _TIME_AMPM.search(text)
    if m:
        return _clock(int(m.group(1)), int(m.group(2) or 0), m.group(3).replace(" ", ""))
    m = _TIME_AT.search(text) or _TIME_COLON.search(text)
    if m:
        return _clock(int(m.group(1)), int(m.group(2) or 0), None)
    if re.search(r" (?:at )?(?:noon|midday) ", text):
        return "12:00"
    if " midnight " in text:
        return "00:00"
    return None


def unsupported_recurrence(text: str) -> bool:
    """A recurrence the schedule grammar cannot express ("every other monday", "every weekday", "monthly").

    The intent is still a schedule, but the schedule itself is left out so the assistant asks for one
    instead of silently running on the wrong days.
    """
    return _REC_UNSUPPORTED.search(text) is not None


def schedule(text: str, *, answering: bool = False) -> str | None:
    """The normalized schedule in prepared ``text``, or ``None`` when no recurrence is said.

    With ``answering`` (the owner answers "How often?"), a lone weekday or a lone time counts too:
    "monday" → ``every monday``, "9am" → ``every day at 09:00``.
    """
    weekday_m = _ANY_WEEKDAY.search(text)
    part = next((p for p in _PART_OF_DAY if re.search(rf" {p}s? ", text)), None)
    return compose_schedule(
        text,
        weekday=weekday_m.group(1) if weekday_m else None,
        time=clock_time(text),
        part_time=_PART_OF_DAY[part] if part is not None else None,
        grammar=(_REC_UNSUPPORTED, _REC_WEEKDAY, _REC_WEEK, _REC_DAY),
        answering=answering,
    )


def compose_schedule(
    text: str,
    *,
    weekday: str | None,
    time: str | None,
    part_time: str | None,
    grammar: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]],
    answering: bool,
) -> str | None:
    """The normalized schedule from what a language's rules found in ``text`` (the same decision in every language).

    ``grammar`` is that language's (unsupported recurrence, on a weekday, weekly, daily) patterns; ``weekday`` is
    the English weekday named, ``time`` a clock time said, ``part_time`` the time of a part of day said ("morning").
    """
    unsupported, on_weekday, weekly, daily = grammar
    if unsupported.search(text) and not answering:
        return None
    if on_weekday.search(text) or (weekday and (weekly.search(text) or daily.search(text))):
        unit = weekday
    elif weekly.search(text):
        unit = "week"
    elif daily.search(text):
        unit = "day"
    elif answering and weekday:
        unit = weekday
    elif answering and (time or part_time):
        unit = "day"
    else:
        return None
    if time is None and part_time is not None and unit != "week":
        time = part_time
    return f"every {unit}" + (f" at {time}" if time else "")


def unique(values: Iterable[str]) -> list[str]:
    """``values`` without repeats, first occurrence order."""
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out
