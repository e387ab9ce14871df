"""The pages' languages: every word from a message catalogue (gettext, via Babel), dates
and numbers in the locale's format.

The catalogues are the ``.po`` files in ``serving/locale`` (English is the source
language: its messages are the msgids). They are read once, at start-up, and compiled in
memory; a test checks that every message the templates use has a Chinese translation.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Final, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from features.deployment import DEFAULT_TIMEZONE

Language = Literal["en", "zh-CN"]
LANGUAGES: Final = {"en": "en", "zh-CN": "zh_CN"}  # language -> catalogue / locale
NAMES: Final = {"en": "English", "zh-CN": "简体中文"}
DEFAULT: Final = "en"
COOKIE: Final = "rf_lang"
MAX_RANGES: Final = 32  # of Accept-Language: no header makes the negotiation long


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


def choose(explicit: str | None, accept: str | None) -> Language:
    """The one language negotiation, for the API and the pages: the language chosen
    explicitly (the API's ``lang``, the pages' remembered cookie) if it is one of ours,
    else the best of ``Accept-Language`` by its q-values (ties: the first listed; q=0:
    refused), else English. ``fr,zh-CN`` is Chinese; ``zh;q=0.5, en`` is English."""
    if explicit in LANGUAGES:
        return explicit  # type: ignore[return-value]
    best, best_q = DEFAULT, 0.0
    for part in (accept or "").split(",")[:MAX_RANGES]:
        tag, _, parameters = part.partition(";")
        language = _ours(tag.strip().lower())
        weight = _weight(parameters)
        if language is not None and weight > best_q:
            best, best_q = language, weight
    return best  # type: ignore[return-value]


def _ours(tag: str) -> str | None:
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def _weight(parameters: str) -> float:
    """A language range's q-value (1 when absent; 0 when it is not a number in [0, 1])."""
    for parameter in parameters.split(";"):
        key, _, value = parameter.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return 0.0
            return weight if 0.0 <= weight <= 1.0 else 0.0
    return 1.0


class Formats:
    """Dates and numbers as the language writes them; instants (decisions, sign-ins: the
    store keeps them in UTC, naive or aware) in the deployment's time zone, so 19:53 UTC
    reads 03:53 the next morning in Beijing. Event times are the contract's naive local
    times already and are shown as they are."""

    def __init__(self, language: str, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.locale = Locale.parse(LANGUAGES[language])
        self.zone = ZoneInfo(timezone)

    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        return format_date(value, format="medium", locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        """A UTC instant as the deployment's local date and time."""
        if value is None:
            return ""
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return format_datetime(aware.astimezone(self.zone), format="short", locale=self.locale)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        return format_percent(value, format="#,##0." + "0" * digits + "%", locale=self.locale)
