"""Progress bars: tqdm on stderr, one place to switch them off (tests, --no-progress)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_enabled = os.environ.get("STREETWATCH_NO_PROGRESS", "") == ""


def set_enabled(enabled: bool) -> None:
    global _enabled
    _enabled = enabled


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    from tqdm import tqdm

    yield from tqdm(iterable, desc=desc, total=total, disable=not _enabled, unit="img", leave=False, dynamic_ncols=True)
