"""The pages' languages: every word from a message catalogue (gettext, via Babel), dates
and numbers in the locale's format.

The catalogues are the ``.po`` files in ``serving/locale`` (English is the source
language: its messages are the msgids). They are read once, at start-up, and compiled in
memory; a test checks that every message the templates use has a Chinese translation.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Final

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

LANGUAGES: Final = {"en": "en", "zh-CN": "zh_CN"}  # page language -> catalogue / locale
NAMES: Final = {"en": "English", "zh-CN": "简体中文"}
DEFAULT: Final = "en"
COOKIE: Final = "rf_lang"


@cache
def translations(language: str) -> NullTranslations:
    if language == DEFAULT:
        return NullTranslations()
    po = resources.files("serving") / "locale" / LANGUAGES[language] / "LC_MESSAGES"
    with (po / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=LANGUAGES[language])
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def chosen(cookie: str | None, accept: str | None) -> str:
    """The language remembered in the cookie, else the browser's first known one."""
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


class Formats:
    """Dates and numbers as the language writes them."""

    def __init__(self, language: str) -> None:
        self.locale = Locale.parse(LANGUAGES[language])

    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        return format_date(value, format="medium", locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value, format="short", locale=self.locale)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        return format_percent(value, format="#,##0." + "0" * digits + "%", locale=self.locale)
