"""Is a zone's rule enforced at a given local time? Windows, weekdays or working days, holidays,
past-midnight spans."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from streetwatch.edge.config import WEEKDAYS, Schedule, TimeWindow
from streetwatch.edge.workdays import WorkCalendar


def window_contains(window: TimeWindow, moment: datetime, calendar: WorkCalendar) -> bool:
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
    if window.days == "working":
        if not calendar.is_working_day(day):
            return False
    elif window.days == "rest":
        if calendar.is_working_day(day):
            return False
    elif WEEKDAYS[day.weekday()] not in window.weekdays:
        return False
    is_holiday = calendar.is_holiday(day)
    if window.holidays == "exclude":
        return not is_holiday
    if window.holidays == "only":
        return is_holiday
    return True


def _any(windows: Iterable[TimeWindow], moment: datetime, calendar: WorkCalendar) -> bool:
    return any(window_contains(w, moment, calendar) for w in windows)


def is_enforced(schedule: Schedule, moment: datetime, calendar: WorkCalendar) -> bool:
    """Enforced inside an `enforce` window (or always, when there are none) and outside every `allow` window."""
    if schedule.enforce and not _any(schedule.enforce, moment, calendar):
        return False
    return not _any(schedule.allow, moment, calendar)
