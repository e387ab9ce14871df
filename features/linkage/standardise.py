"""Standardise the sources' person records before linkage.

Why: the same child is written differently by every division that keeps a record: in
full-width characters or traditional ones, with spaces inside the name, as a homophone
(王伟 / 王玮), with an ID number mistyped or a phone number with its country code. Linkage
compares standardised values only, and each rule is defined here once.

How:

- text (``normalise_text``): Unicode NFKC (full-width letters and digits become
  half-width), every whitespace and invisible format character removed (ASCII spaces,
  the ideographic space U+3000, tabs, zero-width spaces), the dots that separate the
  parts of a minority or foreign name (•, ・, ‧) written as ``·``, traditional
  characters to simplified with OpenCC (``t2s``); an empty result is null;
- names (``split_name``, ``pinyin``): surname and given name, compound surnames (欧阳,
  司马, ...) known; the toneless pinyin read one character at a time with pypinyin's
  default reading (a name is not a word), the surname with its surname reading (单 shan,
  曾 zeng: pypinyin 0.55 has no surname mode, so the common ones are listed here);
- ID numbers (``features.linkage.idnumber``): check digit, birth date and sex;
- birth dates (``parse_birth_date``): kept at their precision (day, month or year);
- phone numbers (``phone_digits``): digits only, a +86 country code removed.

``standardise_persons`` applies them to millions of rows: each Python function runs once
per distinct value of a column (names, dates and addresses repeat), joined back; ID
numbers are read in Polars.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final

import opencc
import polars as pl
from pypinyin import lazy_pinyin

from features.linkage import idnumber
from features.linkage import schema as ls
from features.linkage.idnumber import (
    BLANKS,
    IdNumber,
    id_check_digit,
    make_id_number,
    parse_id_number,
)

__all__ = [
    "STANDARD_COLUMNS",
    "IdNumber",
    "PartialDate",
    "id_check_digit",
    "make_id_number",
    "normalise_text",
    "normalise_texts",
    "parse_birth_date",
    "parse_id_number",
    "phone_digits",
    "pinyin",
    "split_name",
    "standardise_persons",
    "surname_pinyin",
]

STANDARD_COLUMNS: Final = (
    "name_std", "surname", "given_name", "name_pinyin", "given_pinyin",
    "id_std", "id_valid", "id_birth_date", "id_sex",
    "birth_year", "birth_month", "birth_day", "birth_precision",
    "guardian_name_std", "guardian_pinyin", "guardian_id_std", "guardian_id_valid",
    "phone_std", "address_std", "id_conflict",
)  # fmt: skip
COMPOUND_SURNAMES: Final = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "夏侯", "令狐", "端木", "百里", "呼延", "独孤", "南宫", "西门", "轩辕", "闻人",
    "万俟", "澹台", "申屠", "太史", "钟离", "赫连", "第五", "公冶", "濮阳", "淳于", "单于",
    "太叔", "仲孙", "宗政", "东郭", "拓跋", "乐正", "壤驷", "巫马", "漆雕", "谷梁", "左丘",
    "公羊", "梁丘", "司空", "司寇", "鲜于", "亓官", "颛孙", "段干", "东门", "羊舌", "微生",
    "南门", "归海", "公良",
})  # fmt: skip
# surnames whose reading differs from the character's default one (compound surnames
# take pypinyin's phrase reading: 尉迟 yuchi, 万俟 moqi, 澹台 tantai)
SURNAME_READINGS: Final = {
    "单": "shan", "解": "xie", "曾": "zeng", "仇": "qiu", "朴": "piao", "区": "ou",
    "查": "zha", "盖": "ge", "覃": "qin", "缪": "miao", "乐": "yue", "翟": "zhai",
    "召": "shao", "繁": "po", "种": "chong", "员": "yun", "秘": "bi", "都": "du",
    "卜": "bu", "薄": "bo", "句": "gou", "隗": "wei", "折": "she", "祭": "zhai",
    "阚": "kan", "粘": "nian", "佴": "nai", "蕃": "pi", "乐正": "yuezheng",
}  # fmt: skip
NAME_DOT: Final = "·"
_DOTS = str.maketrans(dict.fromkeys("•‧∙⋅・", NAME_DOT))
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_DATE_FORMS = (
    re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})"),
    re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})"),
    re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})"),
    re.compile(r"([0-9]{4})"),
)
_MOBILE = re.compile(r"^(?:0086|86)(1[0-9]{10})$")
_KEY = "_value"


# ---- text and names ---------------------------------------------------------------------
def normalise_text(text: str | None) -> str | None:
    """NFKC, whitespace and invisible characters removed, name dots as ``·``, simplified.

    Returns None for null input and for a value that is empty once blanks are removed.
    """
    return normalise_texts([text])[0]


def normalise_texts(texts: Sequence[str | None]) -> list[str | None]:
    """``normalise_text`` of each value, with one OpenCC call for all of them."""
    cleaned = [
        None if text is None else BLANKS.sub("", unicodedata.normalize("NFKC", text))
        for text in texts
    ]
    present = [text.translate(_DOTS) for text in cleaned if text]
    simplified = iter(_simplified(present))
    return [next(simplified) if text else None for text in cleaned]


@cache
def _converter() -> opencc.OpenCC:
    """One OpenCC converter per process, made when first needed."""
    return opencc.OpenCC("t2s")


def _simplified(texts: list[str]) -> list[str]:
    """Traditional -> simplified; values hold no newline, so one call converts them all."""
    if not texts:
        return []
    joined: str = _converter().convert("\n".join(texts))
    converted = joined.split("\n")
    if len(converted) != len(texts):  # never seen; one call each keeps the result right
        return [str(_converter().convert(text)) for text in texts]
    return converted


def split_name(name: str) -> tuple[str, str]:
    """Surname and given name of a normalised name.

    A compound surname (``COMPOUND_SURNAMES``) is taken whole when a given name follows
    it; a name of one character is all surname; a name with ``·`` (minority and foreign
    names) has its last part as the surname; a name without Chinese characters has no
    surname and the whole name, lowercased, as the given name.
    """
    if not _HAN.search(name):
        return "", name.lower()
    if NAME_DOT in name:
        given, _, surname = name.rpartition(NAME_DOT)
        return surname, given
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def pinyin(text: str) -> str:
    """Toneless pinyin, one syllable per character and no separator: 王伟 -> ``wangwei``.

    Each character is read alone with pypinyin's default reading, so a character always
    reads the same and homophones meet (王玮 -> ``wangwei``); ü is ``v``. Other letters
    and digits are kept lowercased; punctuation (``·``) is dropped.
    """
    return "".join(_char_pinyin(char) for char in text)


@cache
def _char_pinyin(char: str) -> str:
    if _HAN.match(char):
        return "".join(lazy_pinyin(char))
    return char.lower() if char.isalnum() else ""


def surname_pinyin(surname: str) -> str:
    """A surname's pinyin: its surname reading where that differs (单 -> ``shan``)."""
    if surname in SURNAME_READINGS:
        return SURNAME_READINGS[surname]
    if surname in COMPOUND_SURNAMES:
        return "".join(lazy_pinyin(surname))
    return pinyin(surname)


# ---- birth dates and phones ---------------------------------------------------------------
@dataclass(frozen=True)
class PartialDate:
    """A birth date known to the day, the month or the year only."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def precision(self) -> str:
        """``"day"``, ``"month"`` or ``"year"``."""
        return "year" if self.month is None else "month" if self.day is None else "day"

    @property
    def iso(self) -> str:
        """``2019-03-05``, ``2019-03`` or ``2019``."""
        parts = [f"{self.year:04d}"] + [f"{p:02d}" for p in (self.month, self.day) if p is not None]
        return "-".join(parts)


def parse_birth_date(text: str | None) -> PartialDate | None:
    """A typed birth date at its precision; None for null or blank input.

    Accepts ``YYYY-MM-DD`` (or ``/`` or ``.`` between the parts, one-digit months and
    days too), ``YYYYMMDD``, ``YYYY-MM`` and ``YYYY``, after NFKC (full-width digits).

    Raises
    ------
    ValueError
        For text of another form, or one that is not a calendar date (2019-02-30). The
        message names the value's shape (``9999-99-99``), never the value.
    """
    if text is None:
        return None
    value = BLANKS.sub("", unicodedata.normalize("NFKC", text))
    if not value:
        return None
    for form in _DATE_FORMS:
        match = form.fullmatch(value)
        if match:
            numbers = [int(g) for g in match.groups() if g.isdigit()]
            parsed = PartialDate(*numbers)
            try:
                dt.date(parsed.year, parsed.month or 1, parsed.day or 1)
            except ValueError:
                raise ValueError(f"birth date of shape {_shape(value)!r} is not a date") from None
            return parsed
    raise ValueError(f"birth date of shape {_shape(value)!r} is not YYYY-MM-DD, YYYY-MM or YYYY")


def _shape(value: str) -> str:
    """The shape of a value: digits as 9, letters as a, other non-ASCII as ?."""
    shape = "".join(
        "9" if c.isascii() and c.isdigit() else "a" if c.isalpha() else c if c.isascii() else "?"
        for c in value[:24]
    )
    return shape + ("…" if len(value) > 24 else "")


def phone_digits(text: str | None) -> str | None:
    """Digits only (after NFKC); a 86 / 0086 / +86 before an 11-digit mobile removed."""
    if text is None:
        return None
    digits = "".join(c for c in unicodedata.normalize("NFKC", text) if "0" <= c <= "9")
    mobile = _MOBILE.match(digits)
    return mobile.group(1) if mobile else digits or None


# ---- millions of rows ---------------------------------------------------------------------
def standardise_persons(persons: pl.DataFrame) -> pl.DataFrame:
    """Every input column and the ``STANDARD_COLUMNS``.

    Parameters
    ----------
    persons
        Person records with the columns ``ls.PERSONS_COLUMNS`` (strings; dates are read
        as their ISO text) and ``source``.

    Returns
    -------
    pl.DataFrame
        The input, then: the name's normalised form, surname, given name and pinyin; the
        ID number's normalised form, validity and (when valid) birth date and sex; the
        typed birth date's parts and precision (null when it does not parse); the best
        birth date and sex (a valid ID number's over the typed ones); the guardian's
        name, pinyin, ID number and validity; the phone's digits; the address;
        ``id_conflict``: a valid ID number disagreeing with the typed full date or sex.
    """
    text = {c: _as_text(persons.get_column(c)) for c in _TEXT_COLUMNS}
    guardian = _by_unique(text[ls.GUARDIAN_NAME], _name_table)
    ids = idnumber.id_number_columns(text[ls.ID_NUMBER])
    guardian_ids = idnumber.id_number_columns(text[ls.GUARDIAN_ID_NUMBER])
    parts = [
        _by_unique(text[ls.NAME], _name_table),
        ids.rename(lambda c: f"id_{c}"),
        _by_unique(text[ls.BIRTH_DATE], _birth_table),
        guardian.select(pl.col("name_std").alias("guardian_name_std"),
                        pl.col("name_pinyin").alias("guardian_pinyin")),
        guardian_ids.select(pl.col(idnumber.STD).alias("guardian_id_std"),
                            pl.col(idnumber.VALID).alias("guardian_id_valid")),
        _phone_column(text[ls.GUARDIAN_PHONE]),
        _by_unique(text[ls.ADDRESS], _text_table("address_std")),
        text[ls.SEX].alias("_sex").to_frame(),
    ]  # fmt: skip
    typed_sex = pl.col("_sex").str.strip_chars().str.to_uppercase()
    to_day = pl.col("birth_precision") == "day"
    # polars builds the date on every row before choosing: build it from text, so that a
    # partial date's month or day 0 makes a null (then thrown away), never an error
    typed_text = pl.format("{}-{}-{}", "birth_year", "birth_month", "birth_day")
    derived = pl.concat(parts, how="horizontal").with_columns(
        _typed_sex=pl.when(typed_sex.is_in(["F", "M"])).then(typed_sex),
        _typed_day=pl.when(to_day).then(typed_text.str.to_date("%Y-%m-%d", strict=False)),
    )
    return pl.concat([persons, _conflict(derived)], how="horizontal")


_TEXT_COLUMNS = (
    ls.NAME, ls.ID_NUMBER, ls.BIRTH_DATE, ls.SEX, ls.ADDRESS,
    ls.GUARDIAN_NAME, ls.GUARDIAN_ID_NUMBER, ls.GUARDIAN_PHONE,
)  # fmt: skip


def _as_text(column: pl.Series) -> pl.Series:
    if column.dtype == pl.String:
        return column
    if column.dtype.is_temporal():
        return column.cast(pl.Date).cast(pl.String)
    return column.cast(pl.String)


def _conflict(derived: pl.DataFrame) -> pl.DataFrame:
    """The ID number's conflict with the typed birth date and sex (which date and sex a
    record stands for is linkage's rule: features/linkage/records.py)."""
    valid, typed_day, typed_sex = pl.col("id_valid"), pl.col("_typed_day"), pl.col("_typed_sex")
    disagrees = (typed_day != pl.col("id_birth_date")).fill_null(False) | (
        typed_sex != pl.col("id_sex")
    ).fill_null(False)
    return derived.with_columns(
        (valid & disagrees).alias("id_conflict"),
    ).select(STANDARD_COLUMNS)


def _by_unique(values: pl.Series, table: Callable[[list[str]], pl.DataFrame]) -> pl.DataFrame:
    """``table`` computed once per distinct non-null value, aligned back to ``values``."""
    distinct = values.drop_nulls().unique()
    mapped = table(distinct.to_list()).with_columns(distinct.alias(_KEY))
    keys = values.alias(_KEY).to_frame()
    return keys.join(mapped, on=_KEY, how="left", maintain_order="left").drop(_KEY)


_NAME_COLUMNS = ("name_std", "surname", "given_name", "name_pinyin", "given_pinyin")


def _name_table(names: list[str]) -> pl.DataFrame:
    std = normalise_texts(names)
    split = [split_name(name) if name else ("", "") for name in std]
    return pl.DataFrame(
        {
            "name_std": std,
            "surname": [surname or None for surname, _ in split],
            "given_name": [given or None for _, given in split],
            "name_pinyin": [surname_pinyin(s) + pinyin(g) or None for s, g in split],
            "given_pinyin": [pinyin(given) or None for _, given in split],
        },
        schema=dict.fromkeys(_NAME_COLUMNS, pl.String),
    )


def _text_table(column: str) -> Callable[[list[str]], pl.DataFrame]:
    def table(values: list[str]) -> pl.DataFrame:
        return pl.DataFrame({column: normalise_texts(values)}, schema={column: pl.String})

    return table


def _phone_column(values: pl.Series) -> pl.DataFrame:
    """``phone_digits`` in Polars for ASCII values (NFKC leaves them alone), in Python once
    per distinct other value."""
    ascii_only = pl.col(_KEY).str.contains(r"^[\x00-\x7f]*$")
    digits = pl.col(_KEY).str.replace_all("[^0-9]", "").str.replace(_MOBILE.pattern, "$1")
    frame = values.alias(_KEY).to_frame()
    others = frame.filter(~ascii_only).get_column(_KEY).unique()
    if others.is_empty():
        return frame.select(pl.when(digits != "").then(digits).alias("phone_std"))
    table = pl.DataFrame(
        {_KEY: others, "_slow": [phone_digits(value) for value in others.to_list()]},
        schema={_KEY: pl.String, "_slow": pl.String},
    )
    joined = frame.join(table, on=_KEY, how="left", maintain_order="left")
    fast = pl.when(digits != "").then(digits)
    return joined.select(pl.when(ascii_only).then(fast).otherwise("_slow").alias("phone_std"))


def _birth_table(texts: list[str]) -> pl.DataFrame:
    dates = [_birth_or_none(text) for text in texts]
    return pl.DataFrame(
        {
            "birth_year": [d.year if d else None for d in dates],
            "birth_month": [d.month if d else None for d in dates],
            "birth_day": [d.day if d else None for d in dates],
            "birth_precision": [d.precision if d else None for d in dates],
        },
        schema={
            "birth_year": pl.Int16,
            "birth_month": pl.Int8,
            "birth_day": pl.Int8,
            "birth_precision": pl.String,
        },
    )


def _birth_or_none(text: str) -> PartialDate | None:
    """A birth date that does not parse is unknown here (validation reports it)."""
    try:
        return parse_birth_date(text)
    except ValueError:
        return None
