"""The review page's languages: a gettext catalogue (Babel) per language, Chinese by default.

Strings are written in English in the templates (`{% trans %}`, `_()`) and in Python (marked with
`N_` so that `pybabel extract` finds them, translated when shown). The catalogue lives in
`cases/locale/<lang>/LC_MESSAGES/messages.po`; the compiled `.mo` beside it is committed and
`tests/cases/test_cases_i18n.py` fails when the two differ or a string has no translation, so
nothing is compiled at run time. `make i18n` extracts, updates and compiles (docs/cases.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
# Language tags the page offers: the catalogue folder name, and the `lang` attribute of the page.
LANGUAGES: dict[str, str] = {"zh_CN": "zh-CN", "en": "en"}
SOURCE_LANGUAGE = "en"  # msgids are English: English needs no catalogue
LANGUAGE_COOKIE = "streetwatch_lang"


def N_(message: str) -> str:
    return message


def check_language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"unknown language {value!r}; expected one of {', '.join(LANGUAGES)}")
    return value


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue for `language` (English: the msgids themselves)."""
    check_language(language)
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    mo = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not mo.is_file():
        raise FileNotFoundError(f"the {language} catalogue is missing: {mo} (run `make i18n`)")
    with mo.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


@dataclass(frozen=True)
class Locale:
    """What a page needs to speak the inspector's language and tell the city's time."""

    language: str
    timezone: ZoneInfo

    @property
    def html_lang(self) -> str:
        return LANGUAGES[self.language]

    def gettext(self, message: str) -> str:
        return translations(self.language).ugettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translations(self.language).ungettext(singular, plural, n)

    def local(self, moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        """A UTC moment as the city's wall-clock time."""
        if moment is None:
            return "—"
        return moment.astimezone(self.timezone).strftime(fmt)

    def utc_offset(self) -> str:
        """`UTC+08:00` for the zone's current offset, shown beside times."""
        offset = datetime.now(self.timezone).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def choose_language(query: str | None, cookie: str | None, default: str) -> str:
    """`?lang=` wins (and is remembered in a cookie by the caller), then the cookie, then the city's default."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    return default
