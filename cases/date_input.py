"""The review page's date fields: typed in the page's language, read as the city's calendar days.

A browser's `<input type="date">` shows the *browser's* locale (mm/dd/yyyy in an English Chromium),
whatever the page's language, so the filters are text fields that this module reads and writes.
Both languages write a day year first, `2026-03-01`, the order Chinese uses and the one a date in
any language of the page cannot be misread in (03/01 is March in the US and January elsewhere);
The fields also take `2026年3月1日`, `2026/3/1`, `2026.3.1` and month names (`1 March 2026`,
`Mar 1, 2026`), but no all-digit day-month order, since that one is ambiguous.

A day is the city's day: `day_bounds` turns it into the UTC moments its midnight-to-midnight covers
in the city's time zone (settings.timezone, Asia/Shanghai unless the city says otherwise).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from streetwatch.cases.i18n import N_

# What the field shows while empty (a msgid: 年-月-日 in Chinese), and the example beside it.
PLACEHOLDER = N_("yyyy-mm-dd")
MAX_LENGTH = 20  # "2026 年 12 月 31 日" with spaces, and "September 30, 2026"

_YEAR_FIRST = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_MONTH_NAMES = (
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec"),
)  # fmt: skip
_MONTHS = {name: n for n, names in enumerate(_MONTH_NAMES, start=1) for name in names}
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})\s+([a-z]+)\.?,?\s+(\d{4})")
_MONTH_DAY_YEAR = re.compile(r"([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})")


YEARS = range(1970, 9999)  # a case's dates; the end keeps the next midnight representable


def parse_day(text: str) -> date:
    """The calendar day `text` names, in any of the ways above; ValueError otherwise. Either language's
    forms are read on either page: a day is unambiguous in all of them, and a link switching the page's
    language keeps the field's text."""
    value = text.strip()
    if found := _YEAR_FIRST.fullmatch(value):
        year, month, day = (int(g) for g in found.groups())
        return _day(year, month, day)
    lowered = value.lower()
    if found := _DAY_MONTH_YEAR.fullmatch(lowered):
        day_s, month_s, year_s = found.groups()
    elif found := _MONTH_DAY_YEAR.fullmatch(lowered):
        month_s, day_s, year_s = found.groups()
    else:
        raise ValueError(f"{text!r} is not a date; expected yyyy-mm-dd, yyyy年m月d日 or 1 March 2026")
    if month_s not in _MONTHS:
        raise ValueError(f"{text!r}: {month_s!r} is not a month name")
    return _day(int(year_s), _MONTHS[month_s], int(day_s))


def _day(year: int, month: int, day: int) -> date:
    if year not in YEARS:
        raise ValueError(f"year {year} is outside {YEARS.start}-{YEARS.stop - 1}")
    return date(year, month, day)  # ValueError for 2026-02-30


def format_day(day: date) -> str:
    """How the field shows a day it read: year first in both languages (see the module's note)."""
    return day.isoformat()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC span [start, end) of `day` in the city's zone (midnight to the next midnight)."""
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def today(zone: ZoneInfo) -> date:
    """The city's date now (the field's example; a reviewer in another zone still sees the city's day)."""
    return datetime.now(zone).date()
