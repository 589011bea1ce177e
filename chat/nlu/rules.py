"""The deterministic rule parser: a short cascade of intent signals over prepared text.

Order matters and is deliberate: answers ("yes", "no thanks") first; then the destructive or privacy
intents, whose verbs are the most specific (delete data, export, revoke, cancel). A stop verb about scheduled
work ("cancel the weekly sales report", "turn off my automations") is a revoke (of the schedule's standing
consent), so it is tested before cancel. Then repair and status, which otherwise look like setup requests
("the stripe setup failed", "is the setup done"); then migration, schedules and reports; then listing, setup
and help. Whatever is left is ``unknown`` — unless it names a service, which most likely means "set it up".

The cascade is shared by every language; a :class:`Language` supplies the words (its signal table, yes/no
words and entity readers). English is this module's ``SIG`` with :mod:`chat.nlu.entities`; German (``de-*``
locales) is :mod:`chat.nlu.german`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from core.intents import INTENTS, Platform

from . import entities as ent
from . import german
from .base import ParseResult
from .text import RUN_PLACEHOLDER, Prepared, prepare

_CONFIRM = (
    "yes|yeah|yea|yep|yup|y|sure|sure thing|ok|okay|k|alright|all right|confirm|confirmed|approve|approved|"
    "go ahead|do it|go for it|please do|let us do it|let us go|sounds good|absolutely|definitely|correct|"
    "that is right|that is correct|right|of course|affirmative|proceed|agreed|i agree|fine|yes please|do that|"
    "make it so|let us go ahead|i approve|i confirm|go|why not|ok go"
)
_DENY = (
    "no|nope|nah|n|not now|no thanks|do not|do not do it|do not do that|cancel|cancel that|cancel it|"
    "never mind|nevermind|not yet|maybe later|later|stop|stop it|no way|negative|decline|declined|reject|"
    "not interested|forget it|i do not want to|i do not want that|please do not|not at the moment|not today|"
    "leave it|no need|skip|skip it|hold off|do not bother|not for now"
)
_FILLER = "please|thanks|thank you|thank|you|it|that|just|then|now|oh|well|hmm|um|ok then"
_POLAR: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    sorted(
        {
            (tuple(p.split()), kind)
            for kind, group in (("confirm", _CONFIRM), ("deny", _DENY), ("filler", _FILLER))
            for p in group.split("|")
        },
        key=lambda r: -len(r[0]),
    )
)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


SIG = {
    "delete_verb": _rx(r" (?:delete|erase|wipe|purge|destroy|remove|forget|clear) | get rid of "),
    "delete_obj": _rx(r" (?:data|account|information|info|me|personal|everything you have|everything about) "),
    "close_account": _rx(r" close (?:down )?(?:my |the )?account "),
    "export": _rx(
        r" (?:export|takeout|gdpr|portability) | download (?:\w+ ){0,3}(?:data|information|info|account|everything) "
        r"| copy of (?:all )?(?:of )?(?:my|everything) | about me "
        r"| (?:send|give|email|get|want|have) (?:me |i )?(?:a copy of )?(?:all )?(?:of )?my (?:personal )?"
        r"(?:data|information|info) "
    ),
    "revoke": _rx(
        r" (?:revoke|disconnect|unlink|deauthorize|deauthorise|uninstall|deactivate) | cut off | take away "
        r"| stop accessing | kick (?:\w+ ){0,2}out "
        r"| not want (?:\w+ ){0,3}(?:touching|accessing|access|having|connected|linked) "
        r"| no longer (?:access|have access) "
        r"| (?:remove|delete|erase|wipe) (?:\w+ ){0,3}(?:access|keys?|credentials|tokens?|permissions?) "
    ),
    "remove_verb": _rx(r" (?:remove|delete|turn off|switch off|disable|get rid of) "),
    "stop_verb": _rx(
        r" (?:stop|cancel|unschedule|halt|kill|terminate|abort|turn off|switch off|disable|deactivate|discontinue"
        r"|remove|delete|get rid of|revoke|no more|no longer) "
    ),
    "schedule_obj": _rx(
        r" (?:unschedule|schedules?|scheduled|recurring|repeating|automations?|automated|automatic|workflows?"
        r"|standing consents?|routines?|cron) "
    ),
    "cancel_verb": _rx(r" (?:cancel|stop|abort|halt|kill|terminate|interrupt|pause) "),
    "cancel_hard": _rx(r" (?:abort|halt|kill|terminate) | (?:cancel|stop|abort|halt) \w+ing "),
    "cancel_obj": _rx(
        rf" (?:jobs?|runs?|{RUN_PLACEHOLDER}|tasks?|set up|migration|process|installation|install|import|sync"
        r"|work|operation|what you are doing|doing|running|connect) "
    ),
    "fix": _rx(
        r" (?:fix|repair|broken|troubleshoot|debug|reconnect|failing|failed|fails|error|errors|wrong|expired"
        r"|stopped|glitch|bug|buggy|down) | not \w+ing | (?:does|do|did) not work | not work "
    ),
    "status": _rx(
        r" (?:status|progress|coming along|done|finished|finish|still running|how far|update|updates"
        r"|happening|ready yet|any news|check on) | going on with | what is going on | where are (?:you|we) "
        r"| how (?:is|are) (?:\w+ ){0,3}going "
    ),
    "migrate_verb": _rx(r" (?:migrate|migration) "),
    "move_verb": _rx(r" (?:move|transfer|port|switch|leave|replace|copy|import|bring) "),
    "store_obj": _rx(r" (?:store|shop|products?|customers|orders|everything|catalog|catalogue|site) "),
    "schedule_verb": _rx(r" (?:schedule|scheduled|recurring|automate|automatically|automatic|routine|workflow|cron) "),
    "report_word": _rx(r" (?:report|reports|stats|statistics) "),
    "performance": _rx(r" how (?:is|was|did|does|are|were) (?:the |my |our )?(?:store|shop|business|we) "),
    "list_bare": _rx(r" (?:integrations|connections) "),
    "list_question": _rx(r"^ (?:is|are) (?:\w+ ){1,5}(?:connected|linked|hooked up|integrated|set up) "),
    "list_verb": _rx(r" (?:list|show|which|what|see|display|view|tell me) "),
    "list_obj": _rx(
        r" (?:integrations|connections|services|apps|accounts|connected|linked|hooked up|integrated|active) "
    ),
    "setup_verb": _rx(
        r" (?:set (?:\w+ ){0,2}up|configure|connect|install|add|hook (?:\w+ ){0,4}up|hook|integrate|link|enable"
        r"|activate|turn on|put|start using|use|accept|take|sign up) "
    ),
    "setup_generic_obj": _rx(r" (?:integration|service|something|app|tool|account|plugin|connection) "),
    "complete": _rx(r" (?:everything|whole|entire|complete|full|scratch|all of it|end to end) "),
    "store_word": _rx(r" (?:store|shop|site|website|business|ecommerce) "),
    "store_launch": _rx(r" (?:onboard|launch|build|open|create|get (?:\w+ ){0,3}ready) "),
    "help": _rx(
        r" (?:help|commands|options|confused|capabilities|features) | what can (?:you|i) | what are you able "
        r"| how does (?:this|it|omniops) work | how do i use | what do you do | who are you "
        r"| what you can do | what can (?:this|it|omniops)(?: \w+)? do "
    ),
}


Polar = tuple[tuple[tuple[str, ...], str], ...]


@dataclass(frozen=True)
class Language:
    """One language's rules: how text is prepared, its signal table, its yes/no words and its entity readers.

    The cascade in :func:`_classify` is the same for every language; only these differ.
    """

    name: str
    prepare: Callable[[str], Prepared]
    sig: Mapping[str, re.Pattern[str]]
    polar: Polar
    services: Callable[[Sequence[str]], list[str]]
    tasks: Callable[[Sequence[str]], list[str]]
    workflows: Callable[[Sequence[str]], list[str]]
    reports: Callable[[Sequence[str]], list[str]]
    migration: Callable[[Sequence[str]], dict[str, str]]
    migration_mentions: Callable[[Sequence[str]], list[str]]
    period: Callable[[str], str | None]
    schedule: Callable[[str, bool], str | None]
    unsupported_recurrence: Callable[[str], bool]
    recurring: Callable[[str], bool]
    names_weekday: Callable[[str], bool]
    revoke_target: Callable[[Sequence[str], Sequence[str], bool], str | None]

    def has(self, p: Prepared, name: str) -> bool:
        """The signal ``name`` occurs in ``p``."""
        return self.sig[name].search(p.text) is not None


ENGLISH = Language(
    name="en",
    prepare=prepare,
    sig=SIG,
    polar=_POLAR,
    services=ent.services,
    tasks=ent.tasks,
    workflows=ent.workflows,
    reports=ent.reports,
    migration=ent.migration,
    migration_mentions=lambda tokens: [v for _, _, v in ent.find_phrases(tokens, "migration")],
    period=ent.period,
    schedule=lambda text, answering: ent.schedule(text, answering=answering),
    unsupported_recurrence=ent.unsupported_recurrence,
    recurring=ent.recurring,
    names_weekday=ent.names_weekday,
    revoke_target=lambda tokens, svcs, about: ent.revoke_target(tokens, svcs, about_schedules=about),
)
GERMAN = Language(
    name="de",
    prepare=german.prepare,
    sig=german.SIG,
    polar=german.POLAR,
    services=german.services,
    tasks=german.tasks,
    workflows=german.workflows,
    reports=german.reports,
    migration=german.migration,
    migration_mentions=german.migration_mentions,
    period=german.period,
    schedule=lambda text, answering: german.schedule(text, answering=answering),
    unsupported_recurrence=german.unsupported_recurrence,
    recurring=german.recurring,
    names_weekday=german.names_weekday,
    revoke_target=lambda tokens, svcs, about: german.revoke_target(tokens, svcs, about_schedules=about),
)


def language_for(locale: str | None) -> Language:
    """The rules for ``locale``: German for ``de`` and ``de-*``, English for everything else."""
    return GERMAN if (locale or "").split("-")[0].split("_")[0].lower() == "de" else ENGLISH


def _has(p: Prepared, name: str) -> bool:
    return SIG[name].search(p.text) is not None


def polar(p: Prepared, lang: Language = ENGLISH) -> str | None:
    """``confirm`` or ``deny`` when the whole message is a yes/no answer (plus politeness), else ``None``."""
    toks = p.tokens
    if not toks or p.urls or p.run_ids:
        return None
    i, last = 0, None
    while i < len(toks):
        for phrase, kind in lang.polar:
            if tuple(toks[i : i + len(phrase)]) == phrase:
                if kind != "filler":
                    last = kind
                i += len(phrase)
                break
        else:
            return None
    return last


def _classify(p: Prepared, svcs: list[str], lang: Language = ENGLISH) -> tuple[str, float]:
    answer = polar(p, lang)
    if answer:
        return answer, 0.95
    checks: tuple[tuple[str, Callable[[], bool]], ...] = (
        (
            "delete_data",
            lambda: (
                not svcs
                and (lang.has(p, "close_account") or (lang.has(p, "delete_verb") and lang.has(p, "delete_obj")))
            ),
        ),
        ("export_data", lambda: not svcs and lang.has(p, "export")),
        (
            "revoke_access",
            lambda: (
                lang.has(p, "revoke")
                or (bool(svcs) and lang.has(p, "remove_verb"))
                or (lang.has(p, "stop_verb") and _about_schedules(p, lang))
            ),
        ),
        (
            "cancel_job",
            lambda: (
                lang.has(p, "cancel_hard")
                or (lang.has(p, "cancel_verb") and (lang.has(p, "cancel_obj") or bool(p.run_ids)))
            ),
        ),
        ("fix_integration", lambda: lang.has(p, "fix")),
        ("job_status", lambda: lang.has(p, "status") or bool(p.run_ids)),
        (
            "migrate_store",
            lambda: (
                lang.has(p, "migrate_verb")
                or (lang.has(p, "move_verb") and (bool(lang.migration(p.tokens)) or lang.has(p, "store_obj")))
            ),
        ),
        (
            "schedule_workflow",
            lambda: (
                lang.schedule(p.text, False) is not None
                or lang.unsupported_recurrence(p.text)
                or lang.has(p, "schedule_verb")
            ),
        ),
        (
            "store_report",
            lambda: bool(lang.reports(p.tokens)) or lang.has(p, "report_word") or lang.has(p, "performance"),
        ),
        (
            "list_integrations",
            lambda: (
                (lang.has(p, "list_verb") and lang.has(p, "list_obj"))
                or lang.has(p, "list_question")
                or (lang.has(p, "list_bare") and not svcs and not lang.has(p, "setup_verb"))
            ),
        ),
    )
    for intent, test in checks:
        if test():
            return intent, 0.9
    setup = _setup_intent(p, svcs, lang)
    if setup:
        return setup, 0.85
    if lang.has(p, "help"):
        return "help", 0.9
    if svcs:
        return "setup_integration", 0.6
    return "unknown", 0.3


def _about_schedules(p: Prepared, lang: Language = ENGLISH) -> bool:
    """The message is about scheduled work: a schedule word, a recurrence, or a workflow target is named, or a
    task is tied to a weekday ("the monday sales report")."""
    return (
        lang.has(p, "schedule_obj")
        or lang.recurring(p.text)
        or bool(lang.workflows(p.tokens))
        or (lang.names_weekday(p.text) and bool(lang.tasks(p.tokens)))
    )


def _setup_intent(p: Prepared, svcs: list[str], lang: Language = ENGLISH) -> str | None:
    platforms = {x.value for x in Platform}
    setup_verb = lang.has(p, "setup_verb")
    if any(s not in platforms for s in svcs):
        return "setup_integration"
    if lang.has(p, "complete") and (setup_verb or lang.has(p, "store_word")):
        return "setup_store"
    if lang.has(p, "store_launch") and lang.has(p, "store_word"):
        return "setup_store"
    if setup_verb and lang.has(p, "store_word") and not svcs:
        return "setup_store"
    if svcs:
        return "setup_integration"
    if setup_verb and lang.has(p, "setup_generic_obj"):
        return "setup_integration"
    return None


def _raw_params(intent: str, p: Prepared, svcs: list[str], lang: Language = ENGLISH) -> dict[str, Any]:
    url = p.urls[0] if p.urls else None
    if intent == "setup_integration":
        return {"service": svcs[0] if svcs else None, "store_url": url}
    if intent == "setup_store":
        platform = ent.platform_of(svcs)
        if platform is None and url and (urlsplit(url).hostname or "").endswith(".myshopify.com"):
            platform = Platform.SHOPIFY.value
        return {"platform": platform, "store_url": url}
    if intent == "migrate_store":
        return dict(lang.migration(p.tokens))
    if intent == "schedule_workflow":
        return {"schedule": lang.schedule(p.text, False), "tasks": lang.tasks(p.tokens) or None}
    if intent == "store_report":
        found = lang.reports(p.tokens)
        report = found[0] if found else ("sales_summary" if lang.has(p, "performance") else None)
        return {"report": report, "period": lang.period(p.text)}
    if intent in ("job_status", "cancel_job"):
        return {"run_id": p.run_ids[0] if p.run_ids else None}
    if intent == "revoke_access":
        return {"service": lang.revoke_target(p.tokens, svcs, _about_schedules(p, lang))}
    if intent == "fix_integration":
        return {"service": svcs[0] if svcs else None}
    return {}


def validated(intent: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``raw`` params through the registry, dropping any single param that does not validate."""
    spec = INTENTS[intent]
    data = {k: v for k, v in raw.items() if v is not None}
    try:
        return spec.validate_params(data)
    except ValidationError:
        kept: dict[str, Any] = {}
        for key, value in data.items():
            try:
                spec.validate_params({**kept, key: value})
            except ValidationError:
                continue
            kept[key] = value
        return spec.validate_params(kept)


class RuleParser:
    """Deterministic parser driven by ``core.intents``: English rules, and German ones for ``de-*`` locales.

    German text that the German rules do not understand is read once more with the English rules (owners
    in Germany type "status" or "help" too); English locales only ever use the English rules.
    """

    def parse(self, text: str, *, locale: str = "en-US") -> ParseResult:
        """Understand ``text`` with the rules of ``locale``'s language (German for ``de-*``, else English)."""
        lang = language_for(locale)
        result = _parse(text, lang)
        if result.intent == "unknown" and lang is not ENGLISH:
            fallback = _parse(text, ENGLISH)
            if fallback.intent != "unknown":
                return fallback
        return result

    def extract_param(self, intent: str, param: str, text: str, locale: str = "en-US") -> Any | None:
        """Read one param of ``intent`` from an answer ("mystore.com", "woocommerce", "every monday at 9").

        Returns the normalized value as it would appear in ``ParseResult.params``, or ``None`` when the
        answer does not contain it (the caller then parses the message as a new request or a yes/no).
        German answers ("jeden Montag um 9", "die Bestseller") are read for ``de-*`` locales, with the
        English rules as a second reading.
        """
        spec = INTENTS.get(intent)
        if spec is None or param not in spec.params.model_fields:
            return None
        lang = language_for(locale)
        for each in (lang,) if lang is ENGLISH else (lang, ENGLISH):
            value = _answer_value(intent, param, each.prepare(text), each)
            if value is None:
                continue
            try:
                return spec.validate_params({param: value}).get(param)
            except ValidationError:
                continue
        return None


def _parse(text: str, lang: Language) -> ParseResult:
    p = lang.prepare(text)
    svcs = lang.services(p.tokens)
    intent, confidence = _classify(p, svcs, lang)
    return ParseResult(
        intent=intent, params=validated(intent, _raw_params(intent, p, svcs, lang)), confidence=confidence
    )


def _answer_value(intent: str, param: str, p: Prepared, lang: Language = ENGLISH) -> Any | None:
    svcs = lang.services(p.tokens)
    if param == "service" and intent == "revoke_access":
        # an answer to "which scheduled work?" names it; a bare recurrence ("the weekly one") is not enough
        named_schedule = lang.has(p, "schedule_obj") or bool(lang.workflows(p.tokens))
        return lang.revoke_target(p.tokens, svcs, named_schedule)
    if param == "service":
        return svcs[0] if svcs else None
    if param == "store_url":
        return p.urls[0] if p.urls else None
    if param == "platform":
        return _raw_params("setup_store", p, svcs, lang).get("platform")
    if param in ("source", "target"):
        roles = lang.migration(p.tokens)
        if param in roles:
            return roles[param]
        mentions = lang.migration_mentions(p.tokens)
        return mentions[0] if mentions else None
    if param == "schedule":
        return lang.schedule(p.text, True)
    if param == "tasks":
        return lang.tasks(p.tokens) or None
    if param == "report":
        found = lang.reports(p.tokens)
        return found[0] if found else None
    if param == "period":
        return lang.period(p.text)
    if param == "run_id":
        return p.run_ids[0] if p.run_ids else None
    return None
