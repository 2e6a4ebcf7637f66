"""Is a zone's rule enforced at a given local time? Windows, weekdays, holidays, past-midnight spans."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from streetwatch.edge.config import WEEKDAYS, Schedule, TimeWindow


def window_contains(window: TimeWindow, moment: datetime, holidays: frozenset[date]) -> bool:
    """`moment` is local time. A window belongs to the day it starts on: 22:00-02:00 on a Friday
    covers Friday 22:00 to Saturday 02:00, judged by Friday's weekday and holiday status."""
    start, end = window.minutes()
    minute = moment.hour * 60 + moment.minute
    if start < end:
        if not start <= minute < end:
            return False
        day = moment.date()
    elif minute >= start:  # past-midnight window, evening part
        day = moment.date()
    elif minute < end:  # past-midnight window, early-morning part: it started yesterday
        day = moment.date() - timedelta(days=1)
    else:
        return False
    if WEEKDAYS[day.weekday()] not in window.weekdays:
        return False
    is_holiday = day in holidays
    if window.holidays == "exclude":
        return not is_holiday
    if window.holidays == "only":
        return is_holiday
    return True


def _any(windows: Iterable[TimeWindow], moment: datetime, holidays: frozenset[date]) -> bool:
    return any(window_contains(w, moment, holidays) for w in windows)


def is_enforced(schedule: Schedule, moment: datetime, holidays: frozenset[date]) -> bool:
    """Enforced inside an `enforce` window (or always, when there are none) and outside every `allow` window."""
    if schedule.enforce and not _any(schedule.enforce, moment, holidays):
        return False
    return not _any(schedule.allow, moment, holidays)
