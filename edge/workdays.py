"""Which days are holidays and which are working days, for schedules.

China moves working days around its statutory holidays (调休): the State Council's yearly notice
gives days off and the weekend days worked in exchange (2025: 10-01..10-08 off, Sunday 09-28 and
Saturday 10-11 worked). `calendar.statutory: CN` takes both from the `holidays` library (pinned;
its China table has the make-up working days, `weekend_workdays`), and the city adds its own
days off (`calendar.holidays`) and working days (`calendar.workdays`, which win).

Measured choice (pyproject pins holidays 0.108): `holidays` 0.108 has China's notices for 2025 and
2026 with their make-up days and computes the fixed holidays of later years, and its maintainers
release about every two weeks; `chinese-calendar` 1.11.0 (one maintainer, a release a year)
refuses any date after 2026. A year whose notice is not in the library yet has no make-up days:
`uncovered_years` tells, and the agent logs it so that the city lists them in `workdays`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

import holidays as holiday_tables

log = logging.getLogger(__name__)
_warned: set[tuple[str, int]] = set()


class WorkCalendar:
    def __init__(
        self, statutory: str | None = None, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()
    ) -> None:
        self.statutory = statutory
        self._table = holiday_tables.country_holidays(statutory) if statutory else None
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return False
        if day in self.extra_holidays:
            return True
        return self._table is not None and day in self._table

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if self.is_holiday(day):
            return False
        if self._table is not None:
            return self._table.is_working_day(day)  # weekends, unless a make-up working day
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        if day in self.extra_holidays and day not in self.extra_workdays:
            return "city holiday"
        return None if self._table is None else self._table.get(day)

    def uncovered_years(self, years: Iterable[int]) -> list[int]:
        """Years for which the library knows no make-up working day: its table predates that year's notice."""
        if self._table is None:
            return []
        missing = []
        for year in years:
            _ = date(year, 1, 1) in self._table  # the library fills a year on first look; make sure it did
            if not any(d.year == year for d in self._table.weekend_workdays):
                missing.append(year)
        return missing


def warn_uncovered(calendar: WorkCalendar, today: date | None = None) -> None:
    """Log (once per process and year) that this year's or next year's make-up working days are unknown."""
    today = today or date.today()
    for year in calendar.uncovered_years((today.year, today.year + 1)):
        key = (calendar.statutory or "", year)
        if key not in _warned:
            _warned.add(key)
            log.warning(
                "the holidays library (%s) has no %s make-up working days for %d yet: upgrade it once the "
                "notice is out, or list them in calendar.workdays",
                holiday_tables.__version__, calendar.statutory, year,
            )  # fmt: skip
