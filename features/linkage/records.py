"""The records table linkage compares: one row per source record, standardised columns only.

Splink, the hard rules and the clustering all read this one table, so each derived value
(which ID number may stand for the child, which name is a nickname, which birth date is
a day) is defined here once. ``uid`` numbers the records in (source, record_id) order:
the same input gives the same numbers on every engine.

How: ``standardise_persons`` (features/linkage/standardise.py) does the text work; this
module adds the linkage-specific readings of it:

- a name of the form "<guardian's name>之子/之女" or one holding 婴 ("baby of") names the
  parent, not the child, and is compared as missing;
- a nickname is 小 + one character, or one character doubled (小涵, 涵涵): it agrees with
  a full name on the last character's pinyin only;
- an ID number stands for the child (``id_usable``) when it is valid, agrees with the
  record's own typed birth date and sex, and encodes a birth date that makes a child at
  the export date; any other number is still compared (a mistyped digit is evidence) but
  never decides alone;
- ``birth_full`` is the full birth date: a usable ID number's, else a typed date known to
  the day; ``birth_dayno`` is its day number, so that day differences are integer
  arithmetic on every engine; ``sex_cmp`` is a usable ID number's sex, else a typed F or
  M (a number that is not the child's says nothing of the child).
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from features.linkage import schema as ls
from features.linkage.standardise import pinyin, standardise_persons

UID = "uid"
NAME = "name_cmp"
NAME_PINYIN = "name_pinyin"
GIVEN_PINYIN = "given_pinyin"
LAST_PINYIN = "last_pinyin"
NICKNAME = "nickname"
BIRTH_YEAR = "birth_year"
BIRTH_MONTH = "birth_month"
BIRTH_DAY = "birth_day"
BIRTH_DAYNO = "birth_dayno"
BIRTH_FULL = "birth_full"
SEX = "sex_cmp"
DISTRICT = "district_cmp"
ADDRESS = "address_cmp"
ID = "id_cmp"
ID_USABLE = "id_usable"
GUARDIAN_PINYIN = "guardian_pinyin"
GUARDIAN_ID = "guardian_id_cmp"
PHONE = "phone_cmp"

# what Splink and the rules see (plus uid); source and record_id stay beside them
COMPARED = (
    NAME,
    NAME_PINYIN,
    GIVEN_PINYIN,
    LAST_PINYIN,
    NICKNAME,
    BIRTH_YEAR,
    BIRTH_MONTH,
    BIRTH_DAY,
    BIRTH_DAYNO,
    BIRTH_FULL,
    SEX,
    DISTRICT,
    ADDRESS,
    ID,
    ID_USABLE,
    GUARDIAN_PINYIN,
    GUARDIAN_ID,
    PHONE,
)
_BABY_OF = r"(之子|之女|婴)"
_EPOCH = date(1970, 1, 1)


def comparison_records(
    persons: pl.DataFrame, exported_at: datetime, max_age_years: int
) -> pl.DataFrame:
    """The records table: the standardised persons, ``uid`` and the ``COMPARED`` columns.

    Parameters
    ----------
    persons
        Every source's person records, stacked (``Sources.persons``).
    exported_at
        The export moment: an ID number's birth date must make a child by then.
    max_age_years
        The oldest age an ID number's birth date may give (policy ``rules.max_age_years``).
    """
    std = standardise_persons(persons.sort(ls.SOURCE, ls.RECORD_ID))
    oldest = date(exported_at.year - max_age_years, exported_at.month, min(exported_at.day, 28))
    usable = (
        pl.col("id_valid")
        & ~pl.col("id_conflict")
        & pl.col("id_birth_date").is_between(oldest, exported_at.date())
    )
    baby_of = pl.col("name_std").str.contains(_BABY_OF).fill_null(False)
    typed_day = pl.when(pl.col("birth_precision") == "day").then(
        pl.date(pl.col("birth_year"), pl.col("birth_month"), pl.col("birth_day"))
    )
    full_birth = pl.when(usable).then(pl.col("id_birth_date")).otherwise(typed_day)
    typed_sex = pl.when(pl.col(ls.SEX).is_in(["F", "M"])).then(pl.col(ls.SEX))
    return std.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(UID),
        pl.when(baby_of).then(None).otherwise(pl.col("name_std")).alias(NAME),
        pl.when(baby_of).then(None).otherwise(pl.col("name_pinyin")).alias(NAME_PINYIN),
        pl.when(baby_of).then(None).otherwise(pl.col("given_pinyin")).alias(GIVEN_PINYIN),
        pl.when(baby_of)
        .then(None)
        .otherwise(_last_pinyin(pl.col("given_name")))
        .alias(LAST_PINYIN),
        (_nickname(pl.col("name_std")).fill_null(False) & ~baby_of).alias(NICKNAME),
        pl.coalesce(full_birth.dt.year(), pl.col("birth_year")).cast(pl.Int32).alias(BIRTH_YEAR),
        pl.coalesce(full_birth.dt.month(), pl.col("birth_month")).cast(pl.Int32).alias(BIRTH_MONTH),
        pl.coalesce(full_birth.dt.day(), pl.col("birth_day")).cast(pl.Int32).alias(BIRTH_DAY),
        (full_birth - pl.lit(_EPOCH)).dt.total_days().cast(pl.Int32).alias(BIRTH_DAYNO),
        full_birth.alias(BIRTH_FULL),
        pl.when(usable).then(pl.col("id_sex")).otherwise(typed_sex).alias(SEX),
        pl.col(ls.DISTRICT).alias(DISTRICT),
        pl.col("address_std").alias(ADDRESS),
        pl.when(pl.col("id_valid") & ~usable).then(None).otherwise(pl.col("id_std")).alias(ID),
        usable.fill_null(False).alias(ID_USABLE),
        pl.col("guardian_pinyin").alias(GUARDIAN_PINYIN),
        pl.col("guardian_id_std").alias(GUARDIAN_ID),
        pl.col("phone_std").alias(PHONE),
    )


def _nickname(name: pl.Expr) -> pl.Expr:
    """小 + one character, or one character doubled (小涵, 涵涵)."""
    first = name.str.slice(0, 1)
    return (name.str.len_chars() == 2) & ((first == "小") | (first == name.str.slice(1, 1)))


def _last_pinyin(given: pl.Expr) -> pl.Expr:
    """The pinyin of a given name's last character (computed once per distinct character)."""
    last = given.str.slice(-1, 1)
    return last.map_batches(_pinyin_of_unique, return_dtype=pl.String)


def _pinyin_of_unique(chars: pl.Series) -> pl.Series:
    distinct = chars.drop_nulls().unique()
    mapping = {char: pinyin(char) for char in distinct.to_list() if char}
    mapped: pl.Series = chars.replace_strict(mapping, default=None, return_dtype=pl.String)
    return mapped
