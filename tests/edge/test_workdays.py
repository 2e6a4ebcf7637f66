"""China's calendar in schedules: statutory holidays and make-up working days (调休) from the pinned
library, checked against the State Council's notices for 2025 and 2026, plus the city's own days."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest
from pydantic import ValidationError

from streetwatch.edge.config import Schedule, TimeWindow
from streetwatch.edge.schedule import is_enforced
from streetwatch.edge.workdays import WorkCalendar, warn_uncovered

CN = WorkCalendar("CN")


# 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号): National Day and Mid-Autumn,
# 10-01 (Wed) to 10-08 off; Sunday 09-28 and Saturday 10-11 worked. Spring Festival 01-28..02-04
# off, Sunday 01-26 and Saturday 02-08 worked.
@pytest.mark.parametrize("day", [date(2025, 10, d) for d in range(1, 9)] + [date(2025, 1, 28), date(2025, 2, 4)])
def test_2025_days_off(day: date) -> None:
    assert CN.is_holiday(day) or not CN.is_working_day(day)
    assert not CN.is_working_day(day)


@pytest.mark.parametrize("day", [date(2025, 9, 28), date(2025, 10, 11), date(2025, 1, 26), date(2025, 2, 8)])
def test_2025_make_up_working_days(day: date) -> None:
    assert day.weekday() >= 5  # a weekend day ...
    assert CN.is_working_day(day)  # ... worked in exchange
    assert not CN.is_holiday(day)


# 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04): National Day 10-01..10-07 off, Sunday 09-20
# and Saturday 10-10 worked; Spring Festival 02-15..02-23 off, Saturdays 02-14 and 02-28 worked.
def test_2026_notice() -> None:
    assert all(not CN.is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert CN.is_working_day(date(2026, 10, 8))
    assert all(not CN.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    for worked in (date(2026, 9, 20), date(2026, 10, 10), date(2026, 2, 14), date(2026, 2, 28), date(2026, 1, 4)):
        assert CN.is_working_day(worked), worked
    assert CN.is_working_day(date(2026, 3, 2)) and not CN.is_working_day(date(2026, 3, 1))  # an ordinary week


def test_city_days_win() -> None:
    city = WorkCalendar("CN", extra_holidays=[date(2026, 3, 3)], extra_workdays=[date(2026, 10, 7)])
    assert city.is_holiday(date(2026, 3, 3)) and not city.is_working_day(date(2026, 3, 3))
    assert city.is_working_day(date(2026, 10, 7)) and not city.is_holiday(date(2026, 10, 7))
    plain = WorkCalendar(None, extra_holidays=[date(2026, 10, 1)])
    assert not plain.is_working_day(date(2026, 10, 1)) and plain.is_working_day(date(2026, 10, 8))
    assert plain.is_working_day(date(2025, 9, 29)) and not plain.is_working_day(date(2025, 9, 28))  # no 调休


def test_schedule_on_working_days_follows_the_notice() -> None:
    """ "Enforced 07:00-20:00 on working days": off over National Day, on on the make-up Sunday."""
    schedule = Schedule(enforce=[TimeWindow(start="07:00", end="20:00", days="working")])
    at = lambda *args: datetime(*args)  # noqa: E731 - local wall-clock times
    assert not is_enforced(schedule, at(2025, 10, 3, 10, 0), CN)  # Friday, National Day
    assert is_enforced(schedule, at(2025, 9, 28, 10, 0), CN)  # Sunday, worked
    assert is_enforced(schedule, at(2025, 10, 11, 19, 59), CN)  # Saturday, worked
    assert not is_enforced(schedule, at(2025, 10, 11, 20, 0), CN)
    assert not is_enforced(schedule, at(2025, 10, 12, 10, 0), CN)  # an ordinary Sunday
    # A night market allowed on rest days only (a no_vending zone's exception).
    market = Schedule(allow=[TimeWindow(start="18:00", end="02:00", days="rest")])
    assert not is_enforced(market, at(2025, 10, 4, 23, 0), CN)  # holiday evening: allowed
    assert not is_enforced(market, at(2025, 10, 5, 1, 0), CN)  # past midnight, started on a rest day
    assert is_enforced(market, at(2025, 10, 11, 23, 0), CN)  # worked Saturday: not allowed


def test_weekdays_and_days_do_not_mix() -> None:
    with pytest.raises(ValidationError, match="give weekdays or days"):
        TimeWindow(start="07:00", end="20:00", days="working", weekdays=["mon"])


def test_years_without_a_notice_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    assert CN.uncovered_years([2025, 2026]) == []
    assert CN.uncovered_years([2099]) == [2099]
    with caplog.at_level(logging.WARNING):
        warn_uncovered(CN, today=date(2098, 6, 1))
    assert "no CN make-up working days for 2098" in caplog.text
