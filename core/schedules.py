"""Schedules of recurring workflows: pure functions from a normalized schedule to the moments it fires.

A schedule is what the intent registry normalizes (``every day``, ``every week``, ``every monday`` …
``every sunday``, optionally `` at HH:MM``). It fires at a local wall-clock time in the owner's time zone
(09:00 when no time was said); ``every week`` fires on the weekday it was set up. Daylight-saving changes
keep the wall-clock time: "every Monday at 09:00" is 09:00 in Berlin in winter and in summer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.i18n import known, t
from core.intents import WEEKDAYS, normalize_schedule

DEFAULT_TIME = time(9, 0)


@dataclass(frozen=True)
class Cadence:
    """When a schedule fires: a weekday (0 = Monday; None = every day), a local time and a time zone."""

    weekday: int | None
    at: time
    timezone: str

    @property
    def period(self) -> timedelta:
        """How far apart two runs are: one day or one week."""
        return timedelta(days=1 if self.weekday is None else 7)

    def zone(self) -> ZoneInfo:
        """The owner's time zone (UTC when the name is unknown to this machine)."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def next_after(self, moment: datetime) -> datetime:
        """The first time (UTC) strictly after ``moment`` at which this cadence fires."""
        if moment.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass timezone-aware UTC")
        zone = self.zone()
        local = moment.astimezone(zone)
        day = local.date()
        for offset in range(0, 9):  # a week plus the DST slack is always enough
            candidate_day = day + timedelta(days=offset)
            if self.weekday is not None and candidate_day.weekday() != self.weekday:
                continue
            candidate = _at(candidate_day, self.at, zone)
            if candidate > moment:
                return candidate
        raise AssertionError("unreachable: a cadence fires at least once a week")  # pragma: no cover

    def latest_due(self, slot: datetime, now: datetime) -> datetime:
        """The newest slot at or before ``now`` counting from ``slot`` (missed runs are coalesced into one)."""
        latest = slot
        following = self.next_after(latest)
        while following <= now:
            latest, following = following, self.next_after(following)
        return latest


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at local time ``at`` in ``zone``, as UTC (a time skipped by DST moves forward by the gap)."""
    local = datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(UTC)


def cadence(schedule: str, *, timezone: str, created_at: datetime) -> Cadence:
    """The cadence of a normalized ``schedule`` for an owner in ``timezone``, set up at ``created_at``.

    Raises ``ValueError`` for a schedule the registry would not accept.
    """
    text = normalize_schedule(schedule)
    words = text.split()
    at = DEFAULT_TIME
    if len(words) == 4:  # every <x> at HH:MM
        hours, minutes = words[3].split(":")
        at = time(int(hours), int(minutes))
    unit = words[1]
    probe = Cadence(weekday=None, at=at, timezone=timezone)
    if unit == "day":
        return probe
    if unit == "week":
        return Cadence(weekday=created_at.astimezone(probe.zone()).weekday(), at=at, timezone=timezone)
    return Cadence(weekday=WEEKDAYS.index(unit), at=at, timezone=timezone)


def schedule_of(params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """``(schedule, tasks)`` of a ``schedule_workflow`` command's params (``every week`` and no tasks when absent)."""
    raw = params.get("tasks")
    tasks = tuple(str(task) for task in raw) if isinstance(raw, list | tuple) else ()
    return str(params.get("schedule") or "every week"), tasks


def describe(schedule: str, tasks: Sequence[str], *, weekday: int | None = None, locale: str = "en-US") -> str:
    """Words for a scheduled workflow: ``a sales report every Monday at 09:00`` (in ``locale``).

    Consent declarations always use en-US: they are part of what the params hash covers (the owner reads them
    in their locale through ``core.consent_text``, which calls this with the consent's locale).
    """
    names = [t(locale, f"schedule.task.{task}") if known(f"schedule.task.{task}") else task for task in tasks]
    what = t(locale, "schedule.and").join(names) or t(locale, "schedule.nothing")
    return t(locale, "schedule.describe", what=what, when=when(schedule, weekday=weekday, locale=locale))


def when(schedule: str, *, weekday: int | None = None, locale: str = "en-US") -> str:
    """``every Monday at 09:00`` (a resolved ``weekday`` names the day of an ``every week`` schedule)."""
    words = normalize_schedule(schedule).split()
    unit = words[1]
    at = words[3] if len(words) == 4 else DEFAULT_TIME.strftime("%H:%M")
    day = WEEKDAYS.index(unit) if unit in WEEKDAYS else weekday if unit == "week" else None
    if day is not None:
        return t(locale, "schedule.every_weekday_at", day=t(locale, f"weekday.{day}"), time=at)
    return t(locale, "schedule.every_day_at" if unit == "day" else "schedule.every_week_at", time=at)


def moment(value: datetime, locale: str = "en-US") -> str:
    """A local date and time for the owner: ``Monday 30 November at 09:00`` / ``Montag, 30. November um 09:00``."""
    return t(
        locale,
        "schedule.moment",
        weekday=t(locale, f"weekday.{value.weekday()}"),
        day=value.day,
        month=t(locale, f"month.{value.month}"),
        time=value.strftime("%H:%M"),
    )
