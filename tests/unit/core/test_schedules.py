"""Cadences of scheduled workflows: when "every Monday at 9" fires, in the owner's time zone, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from core.schedules import Cadence, cadence, describe, moment, when

BERLIN = "Europe/Berlin"
THU = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday


def test_daily_without_a_time_fires_at_nine_local() -> None:
    c = cadence("every day", timezone=BERLIN, created_at=THU)
    assert c == Cadence(weekday=None, at=time(9, 0), timezone=BERLIN)
    assert c.next_after(THU) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # 09:00 CET = 08:00 UTC


def test_daily_fires_later_the_same_day_when_the_time_is_still_ahead() -> None:
    c = cadence("every day at 18:15", timezone="UTC", created_at=THU)
    assert c.next_after(THU) == datetime(2026, 11, 26, 18, 15, tzinfo=UTC)


def test_a_named_weekday_fires_on_that_day() -> None:
    c = cadence("every monday at 09:00", timezone=BERLIN, created_at=THU)
    assert c.weekday == 0
    assert c.next_after(THU) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_every_week_fires_on_the_weekday_it_was_set_up_in_the_owners_zone() -> None:
    late_wednesday_utc = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # already Thursday in Berlin
    c = cadence("every week at 08:00", timezone=BERLIN, created_at=late_wednesday_utc)
    assert c.weekday == 3


def test_next_after_is_strictly_after() -> None:
    c = cadence("every day at 12:00", timezone="UTC", created_at=THU)
    assert c.next_after(THU) == THU + timedelta(days=1)


def test_wall_clock_time_is_kept_across_the_end_of_daylight_saving() -> None:
    c = cadence("every sunday at 09:00", timezone=BERLIN, created_at=THU)
    summer = c.next_after(datetime(2026, 10, 20, tzinfo=UTC))  # Sunday 25 Oct 2026: DST ends at 03:00
    assert summer == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 09:00 CET (the switch happened at 01:00 UTC)
    before = c.next_after(datetime(2026, 10, 12, tzinfo=UTC))
    assert before == datetime(2026, 10, 18, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert summer - before == timedelta(days=7, hours=1)


def test_a_time_skipped_by_daylight_saving_still_fires_that_day() -> None:
    c = cadence("every day at 02:30", timezone=BERLIN, created_at=THU)
    fired = c.next_after(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))  # 29 Mar 2026: 02:00 → 03:00
    assert fired.date().isoformat() == "2026-03-29"
    assert c.next_after(fired) > fired


def test_latest_due_coalesces_missed_slots() -> None:
    c = cadence("every day at 09:00", timezone="UTC", created_at=THU)
    first = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert c.latest_due(first, first) == first
    assert c.latest_due(first, first + timedelta(days=3, hours=1)) == first + timedelta(days=3)


def test_an_unknown_zone_falls_back_to_utc() -> None:
    c = Cadence(weekday=None, at=time(9, 0), timezone="Mars/Olympus")
    assert c.next_after(THU) == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        cadence("every day", timezone="UTC", created_at=THU).next_after(datetime(2026, 1, 1))


@pytest.mark.parametrize("bad", ["every fortnight", "monday", "every day at 25:00", "every day at 9"])
def test_a_schedule_the_registry_would_refuse_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        cadence(bad, timezone="UTC", created_at=THU)


def test_words_for_the_owner() -> None:
    assert when("every monday") == "every Monday at 09:00"
    assert when("every week at 17:00", weekday=4) == "every Friday at 17:00"
    assert when("every day at 07:30") == "every day at 07:30"
    assert describe("every friday at 17:00", ["sales_report", "restock_low_inventory"]) == (
        "a sales report and a restock list of low inventory every Friday at 17:00"
    )


def test_words_for_a_german_owner() -> None:
    assert describe("every monday at 09:00", ["sales_report", "restock_low_inventory"], locale="de-DE") == (
        "einen Verkaufsbericht und eine Nachbestellliste für knappe Artikel jeden Montag um 09:00"
    )
    assert when("every day", locale="de-DE") == "täglich um 09:00"
    assert when("every week at 07:00", locale="de-AT") == "wöchentlich um 07:00"  # same language falls back


def test_a_moment_in_the_owners_words() -> None:
    first = datetime(2026, 12, 7, 9, 0)
    assert moment(first) == "Monday 7 December at 09:00"
    assert moment(first, "de-DE") == "Montag, 7. Dezember um 09:00"
