"""The review page's date fields: the ways a day may be typed, and which UTC span a city day covers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from streetwatch.cases.date_input import day_bounds, format_day, parse_day


@pytest.mark.parametrize(
    "text",
    ["2026-03-01", "2026-3-1", " 2026/03/01 ", "2026.3.1", "2026年3月1日", "2026 年 3 月 1 日", "2026年03月01",
     "1 March 2026", "1 Mar 2026", "March 1, 2026", "mar. 1 2026"],
)  # fmt: skip
def test_a_day_in_either_languages_forms(text: str) -> None:
    assert parse_day(text) == date(2026, 3, 1)
    assert format_day(parse_day(text)) == "2026-03-01"


@pytest.mark.parametrize(
    "text",
    ["03/01/2026", "01.03.2026", "2026-02-30", "2026年13月1日", "1 Smarch 2026", "yesterday", "0001-01-01",
     "9999-12-31", "2026-03"],
)  # fmt: skip
def test_ambiguous_or_impossible_days_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_day(text)


def test_a_day_is_the_citys_midnight_to_midnight() -> None:
    start, end = day_bounds(date(2026, 3, 1), ZoneInfo("Asia/Shanghai"))
    assert (start, end) == (datetime(2026, 2, 28, 16, 0, tzinfo=UTC), datetime(2026, 3, 1, 16, 0, tzinfo=UTC))
    # A day with a daylight-saving change is 23 hours long where the city has one.
    start, end = day_bounds(date(2026, 3, 29), ZoneInfo("Europe/Berlin"))
    assert (end - start).total_seconds() == 23 * 3600
