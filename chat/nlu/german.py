"""German (de-*) rules for the embedded parser: text preparation, entity extraction and the signal table.

The German rules produce exactly the intents and params of the English ones (``core.intents`` validates
both); only the words differ. The cascade itself (which signal wins) lives in :mod:`chat.nlu.rules` and is
shared by both languages.

Preparation folds umlauts and ß to their ASCII spellings (``ä`` → ``ae``, ``ß`` → ``ss``), so "Lösche" and
"Loesche" are the same word; web addresses and run ids are cut out first, exactly as for English. German
inflects and compounds heavily, so the signals match word *stems* (``verbind\\w*`` covers "verbinde",
"verbinden", "Verbindung") and separable verbs with their particle a few words later ("richte … ein",
"brich … ab", "füge … hinzu", "zieh … um").

Schedules (normalized as in English, see :mod:`chat.nlu.entities`):

========================================================  =========================
said                                                      normalized
========================================================  =========================
"täglich", "jeden Tag", "einmal am Tag"                   ``every day``
"jeden Morgen", "morgens" / "abends" / "nachmittags"      ``every day at 09:00`` / ``18:00`` / ``15:00``
"wöchentlich", "jede Woche", "einmal pro Woche"           ``every week``
"jeden Montag", "montags", "immer montags"                ``every monday``
"jeden Montag um 9 Uhr", "montags um 9"                   ``every monday at 09:00``
"um 17:30", "um 17.30 Uhr", "um halb sechs abends"        ``at 17:30``
"um 8 Uhr abends", "um 9 Uhr morgens"                     ``at 20:00`` / ``at 09:00``
========================================================  =========================

"morgen" alone means *tomorrow* and is not a part of the day; "jeden Morgen" and "morgens" are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from core.intents import MIGRATION_SYNONYMS, SERVICE_SYNONYMS, Task

from . import entities as ent
from .text import RUN_PLACEHOLDER, Prepared, lemma_phrase, placeholders, wordlist

Span = tuple[int, int, str]

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})

#: Word forms folded to one spelling before matching (after umlaut folding).
LEMMAS: dict[str, str] = {
    "email": "e mail",
    "emails": "e mail",
    "mails": "mail",
    "woocommerce": "woocommerce",
    "shopifyshop": "shopify shop",
    "onlineshop": "shop",
    "onlineshops": "shop",
    "webshop": "shop",
    "webshops": "shop",
    "online": "online",
    "okay": "ok",
    "okey": "ok",
    "oki": "ok",
    "nö": "noe",
    "ne": "nee",
    "kannst": "kannst",
    "koenntest": "kannst",
    "koennten": "koennen",
}


def fold(text: str) -> str:
    """Lower-case ``text`` and spell umlauts and ß in ASCII ("Lösche" → "loesche", "Straße" → "strasse")."""
    return text.lower().translate(_FOLD)


def prepare(text: str) -> Prepared:
    """Prepare German ``text`` for matching: placeholders, folding, punctuation, lemmas."""
    rest, urls, run_ids = placeholders(text)
    rest = fold(rest)
    rest = re.sub(r"(\d)[.:](\d\d)\b", r"\1:\2", rest)
    rest = re.sub(r"(?<!\d):|:(?!\d)", " ", rest)
    rest = re.sub(r"(\d)\.(?!\d)", r"\1 ", rest)  # "30." (ordinal), "9." at the end of a sentence
    rest = re.sub(r"'s\b", "", rest)  # "geht's", "mach's"
    rest = re.sub(r"[^a-z0-9: ]+", " ", rest)
    tokens: list[str] = []
    for word in rest.split():
        tokens.extend(LEMMAS.get(word, word).split())
    return Prepared(original=text, tokens=tuple(tokens), urls=tuple(urls), run_ids=tuple(run_ids))


def _text(tokens: Sequence[str]) -> str:
    return " " + " ".join(tokens) + " "


# ------------------------------------------------------------------------------------------ entity tables
#: German names per value, as regular expressions over prepared text (padded with spaces). The English
#: names of ``core.intents`` (brand names above all: "Stripe", "WooCommerce") are matched as well.
SERVICE_WORDS: dict[str, tuple[str, ...]] = {
    "stripe": (r"(?:kredit)?karten ?zahlung\w*", r"zahlung\w*", r"bezahlung\w*", r"zahlungsabwicklung"),
    "sendgrid": (r"e mail ?versand", r"mail ?versand", r"transaktions ?(?:e )?mails?", r"versand ?mails?"),
    "mailchimp": (r"newsletter\w*", r"e mail ?marketing", r"rundmails?"),
    "google_analytics": (r"google analytics", r"besucher ?statistik\w*"),
    "widget": (r"chat ?widget", r"chat ?fenster", r"live ?chat", r"chat ?blase"),
}
REPORT_WORDS: dict[str, tuple[str, ...]] = {
    "best_sellers": (
        r"bestseller\w*",
        r"topseller\w*",
        r"meist ?verkauft\w*",
        r"am (?:meisten|haeufigsten|besten|oeftesten) (?:\w+ ){0,2}(?:verkauft|gekauft|bestellt)\w*",
        r"(?:verkauft|verkaufen|verkaufe|verkaufte|laeuft|laufen|geht|gehen) (?:sich )?am besten",
        r"top ?(?:\d+ )?(?:produkte?|artikel|seller)",
        r"beliebteste\w*",
        r"renner",
        r"verkaufs ?schlager",
        r"verkaufs ?hits?",
        r"best ?verkauft\w*",
    ),
    "sales_summary": (
        r"umsatz\w*",
        r"umsaetze\w*",
        r"verkaeufe\w*",
        r"verkaufs ?zahlen",
        r"verkaufs ?(?:bericht|uebersicht|statistik)\w*",
        r"einnahmen",
        r"erloes\w*",
        r"wie ?viel (?:\w+ ){0,4}(?:verkauft|eingenommen|verdient|umgesetzt)",
        r"wie ?viel geld",
        r"wie viele bestellungen",
        r"verdient",
    ),
    "low_stock": (
        r"knapp\w*",
        r"zur neige",
        r"neige gehen",
        r"(?:wenig|kaum|fast nichts|nicht mehr viel) (?:\w+ )?(?:auf |am |im )?lager",
        r"(?:niedrige\w*|geringe\w*|kleine\w*)? ?lager ?bestand\w*",
        r"bestaende",
        r"ausverkauft\w*",
        r"nicht (?:mehr )?(?:auf|am|vorraetig|verfuegbar)(?: lager)?",
        r"vergriffen",
        r"nach ?bestell\w*",
        r"auffuell\w*",
        r"fast leer",
        r"(?:geht|gehen) (?:\w+ )?aus",
        r"aus ?gehen",
    ),
}
TASK_WORDS: dict[str, tuple[str, ...]] = {
    "sales_report": (
        r"(?:verkaufs|umsatz|wochen|tages|monats)? ?berichte?\w*",
        r"reports?",
        r"umsatz ?(?:zahlen|uebersicht)\w*",
        r"verkaufs ?(?:zahlen|uebersicht)\w*",
        r"umsatz\w*",
        r"zahlen",
    ),
    "restock_low_inventory": (
        r"nach ?bestell\w*",
        r"bestell\w* (?:\w+ ){0,5}nach",
        r"(?:lager\w* |bestand\w* |vorraete |ware )?(?:auf ?fuell\w*|aufzufuellen|auf ?stock\w*|aufzustocken)",
        r"fuell\w* (?:\w+ ){0,4}auf",
        r"knappe\w* (?:artikel|ware\w*|produkte?|sachen)",
        r"nachschub",
        r"nach ?kauf\w*",
        r"(?:niedrige\w*|geringe\w*) (?:lager ?)?bestand\w*",
        r"lager ?bestand",
    ),
}
WORKFLOW_WORDS: tuple[str, ...] = (
    r"zeit ?plaen\w*",
    r"zeit ?plan\w*",
    r"plaene",
    r"geplante\w* (?:\w+ )?(?:aufgaben?|auftraege?|arbeit\w*|ablaeufe?|jobs?|berichte?|sachen|aktionen)",
    r"wiederkehrende\w* (?:aufgaben?|auftraege?|arbeit\w*|ablaeufe?|jobs?|sachen|aktionen)",
    r"automatisierung\w*",
    r"automatiken",
    r"dauerhafte\w* (?:einwilligung|zustimmung|freigabe)\w*",
    r"einwilligungen",
    r"dauer ?auftraeg\w*",
    r"routinen?",
    r"workflows?",
)
_BOTH = re.compile(r" (?:beides|beide|alle beide|alles beides|alle zwei|beiden) ")

WEEKDAYS_DE: dict[str, str] = {
    "montag": "monday",
    "dienstag": "tuesday",
    "mittwoch": "wednesday",
    "donnerstag": "thursday",
    "freitag": "friday",
    "samstag": "saturday",
    "sonnabend": "saturday",
    "sonntag": "sunday",
}
_WD = "|".join(WEEKDAYS_DE)
_PARTS = {
    "morgen": "09:00",
    "vormittag": "10:00",
    "mittag": "12:00",
    "nachmittag": "15:00",
    "abend": "18:00",
    "nacht": "21:00",
}


def _rows(words: dict[str, tuple[str, ...]], english: dict[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    rows = [(f" {w} ", value) for value, ws in words.items() for w in ws]
    for value, phrases in english.items():
        for phrase in (*phrases, str(value).replace("_", " ")):
            rows.append((f" {re.escape(lemma_phrase(phrase))} ", str(value)))
    return tuple(rows)


@lru_cache(maxsize=8)
def _table(name: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    english = {
        "service": SERVICE_SYNONYMS,
        "migration": MIGRATION_SYNONYMS,
        "report": {},
        "task": {},
        "workflow": {},
    }[name]
    words: dict[str, tuple[str, ...]] = {
        "service": SERVICE_WORDS,
        "migration": {},
        "report": REPORT_WORDS,
        "task": TASK_WORDS,
        "workflow": {"schedules": WORKFLOW_WORDS},
    }[name]
    eng = {str(k): tuple(v) for k, v in english.items()}  # brand names ("Stripe", "WooCommerce")
    return tuple((re.compile(pattern), value) for pattern, value in _rows(words, eng))


def find_phrases(tokens: Sequence[str], table: str) -> list[Span]:
    """Non-overlapping ``(start, end, value)`` mentions (character offsets), longest first, in text order."""
    text = _text(tokens)
    spans: list[Span] = []
    for rx, value in _table(table):
        pos = 0
        while True:
            m = rx.search(text, pos)
            if m is None:
                break
            spans.append((m.start(), m.end(), value))
            pos = m.end() - 1 if m.end() > m.start() + 1 else m.start() + 1
    spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
    taken: list[Span] = []
    for span in spans:
        if all(span[1] - 1 <= t[0] or span[0] >= t[1] - 1 for t in taken):
            taken.append(span)
    return sorted(taken)


def services(tokens: Sequence[str]) -> list[str]:
    """Services mentioned, in order of first mention, without repeats."""
    return ent.unique(v for _, _, v in find_phrases(tokens, "service"))


def tasks(tokens: Sequence[str]) -> list[str]:
    """Recurring tasks mentioned ("beides" means every task), in registry order."""
    if _BOTH.search(_text(tokens)):
        return [t.value for t in Task]
    named = {v for _, _, v in find_phrases(tokens, "task")}
    return [t.value for t in Task if t.value in named]


def workflows(tokens: Sequence[str]) -> list[str]:
    """Scheduled-workflow targets named ("meine geplanten Aufgaben", "Automatisierungen", "Zeitpläne")."""
    return ent.unique(v for _, _, v in find_phrases(tokens, "workflow"))


def revoke_target(tokens: Sequence[str], service_names: Sequence[str], *, about_schedules: bool) -> str | None:
    """What ``revoke_access`` names; the same choice as the English :func:`chat.nlu.entities.revoke_target`."""
    return ent.choose_revoke_target(
        tasks(tokens), service_names, named_workflows=bool(workflows(tokens)), about_schedules=about_schedules
    )


def reports(tokens: Sequence[str]) -> list[str]:
    """Reports mentioned, in order of mention."""
    return ent.unique(v for _, _, v in find_phrases(tokens, "report"))


_SOURCE_MARKERS = frozenset({"von", "vom", "weg", "raus", "aus", "ersetze", "ersetzen", "verlassen", "verlasse"})
_TARGET_MARKERS = frozenset({"zu", "zum", "nach", "auf", "in", "ins", "durch", "mit", "rueber", "hin"})
_MARKER_SKIP = wordlist(
    "mein meine meinen meinem meiner den die das dem der des unser unseren unserem shop laden ganzen ganze "
    "gesamten alles alle produkte artikel kunden bestellungen daten einen ein eine"
)


def migration(tokens: Sequence[str]) -> dict[str, str]:
    """``source``/``target`` from prepositions ("von X zu Y", "weg von X", "X durch Y ersetzen")."""
    text = _text(tokens)
    markers = (_SOURCE_MARKERS, _TARGET_MARKERS, _MARKER_SKIP)
    return ent.assign_roles(
        [
            (ent.marked_role(text[:start].split()[-5:], markers), value)
            for start, _, value in find_phrases(tokens, "migration")
        ]
    )


def migration_mentions(tokens: Sequence[str]) -> list[str]:
    """Migration systems named, in order."""
    return [v for _, _, v in find_phrases(tokens, "migration")]


_PERIODS: tuple[tuple[str, str], ...] = (
    (
        r" (?:letzten|letzte|vergangenen|vergangene|vorigen|letzen) (?:30|dreissig) tage\w* | (?:30|dreissig) tage\w* ",
        "last_30_days",
    ),
    (
        r" (?:letzte|letzten|vergangene|vergangenen|vorige|vorigen|letzer|letzter|vorheriger|vorherigen) woche ",
        "last_week",
    ),
    (r" vorwoche ", "last_week"),
    (r" (?:diese|dieser|aktuelle|aktuellen|laufende|laufenden) woche | woche bisher ", "this_week"),
    (
        r" (?:letzten|letzter|vergangenen|vorigen|vorherigen|letzen|letzte|vergangene) monat\w* | vormonat ",
        "last_month",
    ),
    (r" (?:diesen|dieser|diesem|aktuellen|laufenden|dieses) monat\w* | monat bisher ", "this_month"),
    (r" gestern\w* ", "yesterday"),
    (r" heute\w* | bisher heute ", "today"),
)


def period(text: str) -> str | None:
    """The report period in prepared ``text`` (padded with spaces), or ``None``."""
    for pattern, value in _PERIODS:
        if re.search(pattern, text):
            return value
    return None


_NUMBERS = {
    "eins": 1, "ein": 1, "eine": 1, "zwei": 2, "drei": 3, "vier": 4, "fuenf": 5, "sechs": 6, "sieben": 7,
    "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwoelf": 12,
}  # fmt: skip
_NUM = r"\d{1,2}|" + "|".join(_NUMBERS)
_PART_RE = r"(?:morgens|frueh|vormittags|mittags|nachmittags|abends|nachts)"
_TIME_HALF = re.compile(rf" (?:um )?(halb|viertel nach|viertel vor) ({_NUM})(?: uhr)? ")
_TIME_UM = re.compile(rf" (?:um|ab|gegen) ({_NUM})(?::(\d\d))?(?: uhr)?(?: (\d\d))? ")
_TIME_UHR = re.compile(rf" ({_NUM})(?::(\d\d))? uhr(?: (\d\d))? ")
_TIME_COLON = re.compile(r" (\d{1,2}):(\d\d) ")

_REC_WEEKDAY = re.compile(
    rf" (?:jeden|jede|jedem|immer|alle) (?:\w+ )?(?:{_WD})s?\w* | (?:{_WD})s "
    rf"| (?:{_WD})(?:morgens|abends|nachmittags|mittags|nachts) "
)
_REC_WEEK = re.compile(
    r" (?:woechentlich\w*|jede woche|jeder woche|(?:einmal )?(?:pro|die|in der|je) woche|allwoechentlich\w*"
    r"|wochen ?bericht\w*) "
)
_REC_DAY = re.compile(
    r" (?:taeglich\w*|tagtaeglich\w*|jeden (?:einzelnen )?tag|(?:einmal )?(?:pro|am|je) tag|alltaeglich\w*"
    r"|jede nacht|naechtlich\w*|allabendlich\w*|allmorgendlich\w*"
    r"|jeden (?:morgen|vormittag|mittag|nachmittag|abend)|morgens|vormittags|mittags|nachmittags|abends|nachts"
    r"|tages ?bericht\w*) "
)
_REC_UNSUPPORTED = re.compile(
    r" (?:jeden|jede|jedes|alle) (?:zweiten|zweite|2|dritten|paar|zwei|drei|2 |3 )\w*"
    r" | (?:jeden|jede|jedes|alle) (?:monat|quartal|jahr|stunde)\w* "
    r"| (?:an )?(?:werktags|werktagen|wochentags|wochentagen) "
    r"| (?:monatlich|jaehrlich|vierteljaehrlich|quartalsweise|stuendlich|zweiwoechentlich|14 ?taegig"
    r"|vierzehntaegig)\w* "
)
_ANY_WEEKDAY = re.compile(rf" ({_WD})(?:s|e|en|morgens|abends|nachmittags|mittags|nachts|morgen|abend)? ")


def _hour(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word]


def _part_of_day(text: str) -> str | None:
    for key, pattern in (
        ("morgen", r" (?:jeden |am |jedem )morgen | morgens | frueh | (?:" + _WD + r") ?morgens? "),
        ("vormittag", r" vormittags? "),
        ("nachmittag", r" nachmittags? | (?:" + _WD + r") ?nachmittags? "),
        ("mittag", r" mittags? | (?:" + _WD + r") ?mittags? "),
        ("abend", r" abends? | (?:" + _WD + r") ?abends? | allabendlich "),
        ("nacht", r" nachts? | naechtlich\w* | (?:" + _WD + r") ?nachts? "),
    ):
        if re.search(pattern, text):
            return key
    return None


def clock_time(text: str) -> str | None:
    """An explicit time of day ("um 9 Uhr", "um 17:30", "17.30 Uhr", "um halb neun abends") as ``HH:MM``."""
    part = _part_of_day(text)
    hour: int | None = None
    minute = 0
    m = _TIME_HALF.search(text)
    if m:
        base = _hour(m.group(2))
        hour, minute = {"halb": (base - 1, 30), "viertel nach": (base, 15), "viertel vor": (base - 1, 45)}[m.group(1)]
    else:
        m = _TIME_UM.search(text) or _TIME_UHR.search(text) or _TIME_COLON.search(text)
        if m:
            hour = _hour(m.group(1))
            extra = m.group(3) if m.re is not _TIME_COLON else None
            minute = int(m.group(2) or extra or 0)
    if hour is None:
        if " mitternacht " in text:
            return "00:00"
        return None
    if (part in ("nachmittag", "abend") and 1 <= hour <= 11) or (part == "nacht" and 6 <= hour <= 11):
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return f"{hour:02d}:{minute:02d}"


def unsupported_recurrence(text: str) -> bool:
    """A recurrence the schedule grammar cannot express ("jeden zweiten Montag", "werktags", "monatlich")."""
    return _REC_UNSUPPORTED.search(text) is not None


def recurring(text: str) -> bool:
    """A recurrence is said ("wöchentlich", "jeden Montag", "monatlich"), expressible or not."""
    return schedule(text) is not None or unsupported_recurrence(text)


def names_weekday(text: str) -> bool:
    """A weekday is named ("der Montagsbericht" is not split; "der Bericht am Montag" is)."""
    return _ANY_WEEKDAY.search(text) is not None


def schedule(text: str, *, answering: bool = False) -> str | None:
    """The normalized schedule in prepared German ``text``, or ``None`` when no recurrence is said.

    With ``answering`` (the owner answers "Wie oft?"), a lone weekday or a lone time counts too:
    "Montag" → ``every monday``, "um 9" → ``every day at 09:00``.
    """
    weekday_m = _ANY_WEEKDAY.search(text)
    part = _part_of_day(text)
    return ent.compose_schedule(
        text,
        weekday=WEEKDAYS_DE[weekday_m.group(1)] if weekday_m else None,
        time=clock_time(text),
        part_time=_PARTS[part] if part is not None else None,
        grammar=(_REC_UNSUPPORTED, _REC_WEEKDAY, _REC_WEEK, _REC_DAY),
        answering=answering,
    )


# -------------------------------------------------------------------------------------------- the signals
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_W = r"(?:\w+ )"  # one word, for "richte … ein"
_SCHEDULE_OBJ = (
    r" (?:zeit ?plaen\w*|zeit ?plan\w*|plaene|geplant\w*|wiederkehrend\w*|regelmaessig\w*|automatisch\w*"
    r"|automatisier\w*|automatiken|dauerhaft\w*|einwilligungen|dauer ?auftraeg\w*|routinen?|workflows?|cron) "
)

SIG: dict[str, re.Pattern[str]] = {
    "delete_verb": _rx(
        r" (?:loesch\w*|entfern\w*|vergiss|vergessen|vergesst|radier\w*|tilg\w*|loeschung|weg mit|los ?werden) "
    ),
    "delete_obj": _rx(
        r" (?:daten|datensaetze|konto|kundenkonto|account|profil|informationen|infos|mich|persoenlich\w*"
        r"|alles (?:ueber|von) mir|alles was ihr|alles was du) "
    ),
    "close_account": _rx(
        rf" konto {_W}{{0,2}}(?:schliessen|kuendigen|aufloesen|beenden|zumachen|dicht ?machen) "
        rf"| (?:schliess|kuendig|loes)\w* {_W}{{0,2}}(?:konto|account) (?:auf )?| account kuendig\w* "
    ),
    "export": _rx(
        r" (?:export\w*|dsgvo ?auskunft|datenauskunft|auskunft|datenkopie|datenuebertragbarkeit) "
        rf"| (?:herunter ?lad|runter ?lad|download)\w* {_W}{{0,3}}(?:daten|informationen|konto|alles) "
        rf"| (?:daten|informationen) {_W}{{0,3}}(?:herunter ?laden|runter ?laden|downloaden|herunterzuladen) "
        rf"| kopie {_W}{{0,3}}(?:daten|informationen|infos|kontos?) "
        rf"| (?:schick|send|gib|geben|mail|maile|hab|haette|moechte|will)\w* (?:mir |mich )?{_W}{{0,3}}"
        r"(?:meine|alle meine|meiner) (?:persoenlichen )?(?:daten|informationen|infos) "
        rf"| (?:ueber mich|von mir) (?:gespeichert|wisst|wissen|habt|haben) | gespeichert {_W}{{0,2}}ueber mich "
    ),
    "revoke": _rx(
        r" (?:entzieh\w*|entzogen|trenn\w*|getrennt|abkoppel\w*|koppel\w* (?:\w+ ){0,4}ab|deinstallier\w*"
        r"|deaktivier\w*|widerruf\w*|abmelden|rauswerf\w*|rausschmeiss\w*|kick\w*|sperr\w*) "
        rf"| zugriff {_W}{{0,3}}(?:entziehen|wegnehmen|weg|sperren|beenden|aufheben|widerrufen|stoppen|nehmen) "
        rf"| (?:beend|stopp|nimm|entfern)\w* {_W}{{0,3}}(?:zugriff|zugang)\w* "
        rf"| verbindung {_W}{{0,3}}(?:aufheben|loesen|kappen|trennen|beenden|entfernen|loeschen) "
        rf"| (?:loes|kapp|beend|entfern|loesch)\w* {_W}{{0,3}}verbindung\w* "
        rf"| kein\w* (?:zugriff|zugang) mehr | nicht mehr (?:auf|an) {_W}{{0,3}}(?:zugreifen|ran) "
        rf"| (?:loesch|entfern|vernicht)\w* {_W}{{0,3}}(?:schluessel\w*|zugangsdaten|zugriffs\w*|token\w*|keys?"
        r"|berechtigung\w*|passw\w*) "
        rf"| (?:schluessel\w*|zugangsdaten|token\w*|berechtigung\w*) {_W}{{0,3}}(?:loeschen|entfernen|widerrufen) "
    ),
    "remove_verb": _rx(
        rf" (?:entfern\w*|loesch\w*|deaktivier\w*|ausschalt\w*|abschalt\w*|abstell\w*|los ?werden|weg mit"
        rf"|schalt\w* {_W}{{0,4}}(?:ab|aus)|stell\w* {_W}{{0,4}}ab|raus ?nehmen|nimm {_W}{{0,4}}raus) "
    ),
    "stop_verb": _rx(
        rf" (?:stopp\w*|stop|beend\w*|abbrech\w*|abbruch|brich {_W}{{0,5}}ab|brecht {_W}{{0,5}}ab"
        rf"|hoer\w* {_W}{{0,5}}auf"
        rf"|aufhoer\w*|aufzuhoeren|abstell\w*|stell\w* {_W}{{0,5}}ab|schalt\w* {_W}{{0,5}}(?:ab|aus)|abschalt\w*"
        rf"|ausschalt\w*|deaktivier\w*|entfern\w*|loesch\w*|streich\w*|absag\w*|sag\w* {_W}{{0,4}}ab|widerruf\w*"
        rf"|einstell\w*|stell\w* {_W}{{0,4}}ein|kuendig\w*|entzieh\w*|los ?werden|weg mit|aussetz\w*"
        rf"|setz\w* {_W}{{0,4}}aus) | kein\w* {_W}{{0,3}}mehr "
        r"| nicht mehr (?:schicken|senden|machen|ausfuehren|laufen) "
    ),
    "schedule_obj": _rx(_SCHEDULE_OBJ),
    "cancel_verb": _rx(
        rf" (?:abbrech\w*|abzubrechen|abbruch|brich {_W}{{0,5}}ab|brecht {_W}{{0,5}}ab|stopp\w*|stop|anhalt\w*"
        rf"|halt\w* {_W}{{0,5}}an|hoer\w* {_W}{{0,5}}auf|aufhoer\w*|aufzuhoeren|beend\w*|unterbrech\w*|pausier\w*"
        rf"|storn\w*) "
    ),
    "cancel_hard": _rx(
        r" brich ab | brecht ab | (?:sofort|alles) (?:stopp\w*|stop|abbrechen|anhalten|aufhoeren) "
        r"| (?:stopp\w*|stop|halt) (?:sofort|alles) | notstopp | abbruch "
    ),
    "cancel_obj": _rx(
        rf" (?:auftrag\w*|auftraeg\w*|lauf|laeufe|laufs|{RUN_PLACEHOLDER}|aufgaben?|job\w*|einrichtung\w*|einrichten"
        r"|installation\w*|installieren|migration\w*|umzug\w*|import\w*|sync\w*|synchronisation\w*|abgleich\w*"
        r"|vorgang\w*|prozess\w*|arbeit\w*|das gerade|was du (?:gerade )?(?:machst|tust)|was (?:gerade )?laeuft"
        r"|verbinden|verbindungsaufbau) "
    ),
    "fix": _rx(
        r" (?:reparier\w*|kaputt\w*|defekt\w*|fehler\w*|fehlgeschlagen|gescheitert|abgelaufen\w*|streikt|spinnt"
        r"|hakt|beheb\w*|behoben|fix\w*|problem\w*|stoerung\w*|troubleshoot\w*|debug\w*|bug\w*|ausgefallen"
        r"|neu verbinden|neu verknuepfen|wieder verbinden|erneut verbinden|neu anbinden) "
        rf"| (?:funktionier\w*|geht|gehen|klappt|klappen|laeuft|laufen|tut|tun|ging|lief|klappte) {_W}{{0,2}}"
        r"(?:nicht|nich|nimmer) "
        rf"| (?:schlaegt|schlagen|schlug|schlugen) {_W}{{0,3}}fehl | nicht (?:mehr )?(?:funktionier|erreichbar)\w* "
        r"| stimmt (?:\w+ )?nicht | in ordnung bringen | wieder (?:zum laufen|hin ?kriegen|hinbekommen) "
        r"| laeuft nicht | geht nicht "
    ),
    "status": _rx(
        r" (?:status|stand|zwischenstand|fortschritt\w*|erledigt|abgeschlossen|update|updates|neuigkeiten"
        r"|vorankommen|voran) | (?:bist|ist|sind|seid|schon|wann|endlich) (?:\w+ ){0,3}fertig |^ fertig "
        r"| wie (?:weit|lange noch) | wie (?:laeuft|laufen|steht|stehts|sieht) (?:es |das |der |die |mein\w* )?"
        r"(?!(?:\w+ ){0,2}(?:shop|laden|geschaeft|verkauf\w*|umsatz\w*|knapp\w*))"
        r"| laeuft (?:es|das|der|die|sie|er) noch | noch (?:am laufen|dabei|beschaeftigt) "
        r"| was (?:gibt es|gibts) neues | wo stehen wir | was tut sich "
        r"| was ist los mit (?:de[rmn] |meine[rmn]? )?(?:einrichtung|auftrag|lauf|umzug|migration) "
        r"| wie geht es (?:mit )?(?:\w+ )?(?:einrichtung|auftrag|lauf|umzug|migration) | schon durch "
    ),
    "migrate_verb": _rx(
        rf" (?:migrier\w*|migration|umzieh\w*|umziehen|umzuziehen|umgezogen|umzug\w*|zieh\w* {_W}{{0,7}}um"
        r"|umstieg|umsteig\w*|umzusteigen|steig\w* (?:\w+ ){0,6}um) "
    ),
    "move_verb": _rx(
        rf" (?:wechsel\w*|wechsle|uebertrag\w*|uebertragen|verschieb\w*|kopier\w*|importier\w*|portier\w*"
        rf"|ersetz\w*|umstell\w*|stell\w* {_W}{{0,5}}um|bring\w* {_W}{{0,5}}(?:rueber|nach|zu)|weg von|verlass\w*"
        r"|rueber|transferier\w*) "
    ),
    "store_obj": _rx(
        r" (?:shop|shops|laden|produkte?|artikel|kunden|bestellungen|alles|katalog|sortiment|seite|website"
        r"|webseite|geschaeft) "
    ),
    "schedule_verb": _rx(
        r" (?:plan\w*|einplan\w*|eingeplant|automatisier\w*|automatisch\w*|regelmaessig\w*|wiederkehrend\w*"
        r"|routine\w*|zeit ?plan\w*|workflow\w*|jedes mal|cron|terminier\w*) "
    ),
    "report_word": _rx(r" (?:bericht\w*|report\w*|statistik\w*|auswertung\w*|kennzahlen|zahlen|uebersicht\w*) "),
    "performance": _rx(
        r" wie (?:laeuft|lief|laufen|liefen|geht|ging|steht|stand|laeufts|gehts) (?:es )?(?:\w+ )?(?:\w+ )?"
        r"(?:shop|laden|geschaeft|geschaefte|onlineshop|verkauf\w*|handel) "
        r"| wie (?:gut |viel )?(?:verkaufe|verkaufen) (?:ich|wir) | laeuft (?:der|mein) (?:laden|shop) "
    ),
    "list_bare": _rx(r" (?:integrationen|verbindungen|verknuepfungen|anbindungen) "),
    "list_question": _rx(
        r"^ (?:ist|sind|bin|habe ich|hab ich) (?:\w+ ){1,5}(?:verbunden|verknuepft|eingerichtet|angebunden"
        r"|angeschlossen|installiert|integriert|aktiv) "
    ),
    "list_verb": _rx(r" (?:zeig\w*|welche\w*|was|liste\w*|auflist\w*|sehen|anzeig\w*|nenn\w*|sag mir|sagen sie mir) "),
    "list_obj": _rx(
        r" (?:integrationen|verbindungen|verknuepfungen|dienste|diensten|apps|konten|verbunden|verknuepft"
        r"|eingerichtet|angebunden|angeschlossen|installiert|aktiv|integriert) "
    ),
    "setup_verb": _rx(
        rf" (?:richt\w* {_W}{{0,7}}ein|einricht\w*|einzuricht\w*|eingerichtet|konfigurier\w*|verbind\w*|install\w*"
        rf"|fueg\w* {_W}{{0,7}}hinzu|hinzufueg\w*|hinzuzufueg\w*|bind\w* {_W}{{0,6}}an|anbind\w*|anzubinden"
        rf"|anschliess\w*|anzuschliessen|schliess\w* {_W}{{0,6}}an|verknuepf\w*|integrier\w*|aktivier\w*"
        rf"|schalt\w* {_W}{{0,5}}(?:frei|ein|an)|freischalt\w*|einbau\w*|einzubauen|bau\w* {_W}{{0,5}}ein"
        rf"|setz\w* {_W}{{0,5}}auf|aufsetz\w*|aufzusetzen|nutz\w*|benutz\w*|verwend\w*|annehm\w*|anzunehmen"
        rf"|akzeptier\w*|anmeld\w*|hinterleg\w*|einbind\w*|bind\w* {_W}{{0,5}}ein|start\w*|anleg\w*"
        rf"|leg\w* {_W}{{0,4}}an) "
    ),
    "setup_generic_obj": _rx(
        r" (?:integration|dienst|dienste|service|etwas|was|app|tool|konto|plugin|erweiterung|verbindung|schnittstelle) "
    ),
    "complete": _rx(
        r" (?:alles|ganz\w*|komplett\w*|vollstaendig\w*|rundum\w*|gesamt\w*|von grund auf|von null|von a bis z"
        r"|von anfang an|komplettpaket) "
    ),
    "store_word": _rx(r" (?:shop|shops|laden|geschaeft|seite|website|webseite|ecommerce|e commerce|shopsystem) "),
    "store_launch": _rx(
        rf" (?:startklar|eroeffn\w*|aufbau\w*|aufzubauen|bau\w* {_W}{{0,5}}auf|erstell\w*|fertig ?mach\w*"
        r"|bereit ?mach\w*|launch\w*|online bringen|an den start|startbereit|loslegen) "
    ),
    "help": _rx(
        r" (?:hilfe|helfen|hilf|befehle|optionen|verwirrt|funktionen|moeglichkeiten|anleitung) "
        r"| was (?:kannst|koennen|kann) (?:du|sie|ich|man|omniops) | was (?:du|sie) (?:alles )?(?:kannst|koennen) "
        r"| wie (?:funktioniert|geht) (?:das|es|omniops|das hier|das ganze) | wie benutze ich | wie nutze ich "
        r"| was (?:machst|tust) du | wer bist du | wer sind sie | was (?:machen|tun) sie | keine ahnung "
    ),
}

_CONFIRM = (
    "ja|jo|jap|jep|jup|japp|jawohl|jawoll|klar|na klar|aber klar|sicher|ok|k|alles klar|passt|gut|sehr gut|"
    "in ordnung|einverstanden|genau|richtig|korrekt|stimmt|das stimmt|bestaetigt|bestaetige|ich bestaetige|"
    "bestaetigen|ich stimme zu|zustimmen|stimme zu|mach das|mach es|mach mal|machs|mach|los|los gehts|"
    "los geht|leg los|nur zu|tu das|tu es|gerne|gern|sehr gerne|auf jeden fall|unbedingt|natuerlich|"
    "selbstverstaendlich|klingt gut|hoert sich gut an|machen|machen wir|machen sie das|weiter|fortfahren|"
    "freigeben|genehmigt|genehmigen|warum nicht|yes|yep|sure|go|bitte machen|mach weiter|das passt|"
    "ja mach|ja mach das|ja gerne|jawohl|fuehren sie es aus|ausfuehren|fuehre es aus|tun sie das"
)
_DENY = (
    "nein|nee|noe|no|nope|nein danke|nee danke|lieber nicht|besser nicht|jetzt nicht|nicht jetzt|noch nicht|"
    "spaeter|vielleicht spaeter|abbrechen|stopp|stop|halt|vergiss es|vergessen sie es|lass es|lass mal|"
    "lass das|lass gut sein|nicht noetig|auf keinen fall|keinesfalls|niemals|ablehnen|abgelehnt|"
    "ich lehne ab|lehne ab|kein interesse|nicht interessiert|bitte nicht|mach das nicht|tu das nicht|"
    "nicht machen|ueberspringen|doch nicht|lieber doch nicht|heute nicht|nicht heute|kein bedarf|"
    "brauche ich nicht|brauch ich nicht|nicht noetig|vorerst nicht|erstmal nicht|erst mal nicht|nein lieber nicht"
)
_FILLER = (
    "bitte|danke|dankeschoen|danke schoen|vielen dank|dir|ihnen|doch|mal|also|dann|nun|aeh|aehm|hmm|naja|na|so|ok dann"
)
POLAR: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    sorted(
        {
            (tuple(p.split()), kind)
            for kind, group in (("confirm", _CONFIRM), ("deny", _DENY), ("filler", _FILLER))
            for p in group.split("|")
        },
        key=lambda r: -len(r[0]),
    )
)
