"""Resident ID numbers (公民身份号码, GB 11643-1999): parse, check and build them.

Why: an ID number is the strongest evidence linkage has, and the most often mistyped.
A number that fails is still evidence (one wrong digit is a near match), so nothing here
refuses a value: it reads what the number says and whether it can be trusted.

How: an 18-character number is a 6-digit region code, the birth date as YYYYMMDD, a
3-digit order code whose last digit is odd for a man and even for a woman, and an ISO
7064 MOD 11-2 check digit (``0``-``9`` or ``X``). A 15-digit first-generation number has
a 2-digit year and no check digit; it is upgraded to 18 by inserting ``19`` and computing
the check digit. ``parse_id_number`` reads one value; ``id_number_columns`` reads a
column of millions, in Polars for the clean values and through ``parse_id_number`` for
the distinct others, with the same result.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Final

import polars as pl

WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final = "10X98765432"  # indexed by the weighted sum mod 11
SEQUENCES: Final = 500  # order codes per region, birth date and sex: 3 digits, parity = sex
EARLIEST: Final = date(1900, 1, 1)

# what id_number_columns returns
STD: Final = "std"
VALID: Final = "valid"
BIRTH_DATE: Final = "birth_date"
SEX: Final = "sex"

_WELL_FORMED = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
# whitespace (Unicode, the ideographic space U+3000 too) and invisible format characters
BLANKS: Final = re.compile(r"[\s\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_CLEAN = r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$"  # values whose NFKC and blank removal are no-ops


@dataclass(frozen=True)
class IdNumber:
    """What one typed ID number says.

    Attributes
    ----------
    normalised
        NFKC, blanks removed, ``x`` as ``X``; a 15-digit number upgraded to 18 digits.
    well_formed
        17 digits and a digit or ``X``, or 15 digits.
    check_ok
        The check digit is right (always, for an upgraded 15-digit number).
    birth_date
        The encoded date when it is a calendar date from 1900 to today, else None.
    sex
        ``"M"`` (odd 17th digit) or ``"F"`` (even); None when not well formed.
    region
        The 6-digit region code; None when not well formed.
    """

    normalised: str
    well_formed: bool
    check_ok: bool
    birth_date: date | None
    sex: str | None
    region: str | None

    @property
    def valid(self) -> bool:
        """Well formed, the check digit right and a plausible birth date encoded."""
        return self.well_formed and self.check_ok and self.birth_date is not None


def id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits.

    Raises
    ------
    ValueError
        When ``first17`` is not 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("the first part of an ID number must be 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_id_number(text: str | None) -> IdNumber | None:
    """Read a typed ID number; None for null or blank input, never an exception.

    A value that is not well formed is kept (normalised) with ``well_formed`` False.
    """
    if text is None:
        return None
    normalised = BLANKS.sub("", unicodedata.normalize("NFKC", text)).replace("x", "X")
    if not normalised:
        return None
    if not _WELL_FORMED.fullmatch(normalised):
        return IdNumber(normalised, False, False, None, None, None)
    if len(normalised) == 15:
        first17 = normalised[:6] + "19" + normalised[6:]
        normalised = first17 + id_check_digit(first17)
    return IdNumber(
        normalised=normalised,
        well_formed=True,
        check_ok=id_check_digit(normalised[:17]) == normalised[17],
        birth_date=_encoded_birth(normalised[6:14]),
        sex="M" if int(normalised[16]) % 2 else "F",
        region=normalised[:6],
    )


def _encoded_birth(yyyymmdd: str) -> date | None:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None
    return born if EARLIEST <= born <= date.today() else None


def make_id_number(region: str, birth: date, sequence: int, sex: str) -> str:
    """A valid 18-digit number (for synthetic data).

    Parameters
    ----------
    region
        The 6-digit region code.
    birth
        The birth date it encodes.
    sequence
        The person's number among those of this region, birth date and sex, 0 to 499:
        the 3-digit order code is ``2 * sequence`` for ``"F"``, ``2 * sequence + 1`` for
        ``"M"``, so distinct sequences give distinct numbers and the parity is the sex.
    sex
        ``"M"`` or ``"F"``.

    Raises
    ------
    ValueError
        For a region that is not 6 digits, a sequence out of range or another sex.
    """
    if len(region) != 6 or not region.isascii() or not region.isdigit():
        raise ValueError("an ID number's region code must be 6 digits")
    if not 0 <= sequence < SEQUENCES:
        raise ValueError(f"an ID number's sequence must be 0 to {SEQUENCES - 1}")
    if sex not in ("M", "F"):
        raise ValueError("an ID number's sex must be M or F")
    order = 2 * sequence + (sex == "M")
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + id_check_digit(first17)


def id_number_columns(values: pl.Series) -> pl.DataFrame:
    """``parse_id_number`` over a column: ``std``, ``valid``, ``birth_date``, ``sex``.

    ``valid`` is False for null; ``birth_date`` and ``sex`` are null unless valid. Clean
    values (15 or 18 ASCII characters) are read in Polars; the distinct others (blanks,
    full-width digits, wrong lengths) by ``parse_id_number``.
    """
    columns = (STD, VALID, BIRTH_DATE, SEX)
    frame = values.cast(pl.String).alias("_raw").to_frame()
    frame = frame.with_columns(pl.col("_raw").str.contains(_CLEAN).alias("_fast"))
    slow_values = frame.filter(~pl.col("_fast")).get_column("_raw").drop_nulls().unique()
    fast = _read_clean(frame, date.today())
    if slow_values.is_empty():
        return fast.select(pl.col(VALID).fill_null(False) if c == VALID else c for c in columns)
    slow = _slow_table(slow_values)
    both = fast.join(slow, on="_raw", how="left", maintain_order="left", suffix="_slow")
    return both.select(
        pl.when("_fast").then(pl.col(c)).otherwise(pl.col(f"{c}_slow")).alias(c) for c in columns
    ).with_columns(pl.col(VALID).fill_null(False))


def _slow_table(distinct: pl.Series) -> pl.DataFrame:
    parsed = [parse_id_number(value) for value in distinct.to_list()]
    return pl.DataFrame(
        {
            "_raw": distinct,
            STD: [p.normalised if p else None for p in parsed],
            VALID: [p.valid if p else None for p in parsed],
            BIRTH_DATE: [p.birth_date if p and p.valid else None for p in parsed],
            SEX: [p.sex if p and p.valid else None for p in parsed],
        },
        schema={"_raw": pl.String, STD: pl.String, VALID: pl.Boolean}
        | {BIRTH_DATE: pl.Date, SEX: pl.String},
    )


def _read_clean(frame: pl.DataFrame, today: date) -> pl.DataFrame:
    """The four columns from ``_raw``, right where it is clean (garbage elsewhere)."""
    raw = pl.col("_raw")
    short = raw.str.len_bytes() == 15
    staged = frame.with_columns(
        pl.when(short)
        .then(raw.str.slice(0, 6) + "19" + raw.str.slice(6))
        .otherwise(raw.str.slice(0, 17))
        .alias("_first17"),
        short.alias("_short"),
    ).with_columns(
        _check_value(pl.col("_first17")).alias("_expected"),
        pl.col("_first17").str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("_born"),
    )
    expected, born, last = pl.col("_expected"), pl.col("_born"), raw.str.slice(17, 1)
    typed = pl.when(last.is_in(["X", "x"])).then(10).otherwise(last.cast(pl.Int8, strict=False))
    check_char = pl.when(expected == 10).then(pl.lit("X")).otherwise(expected.cast(pl.String))
    valid = (pl.col("_short") | (typed == expected)) & born.is_between(EARLIEST, today)
    male = pl.col("_first17").str.slice(16, 1).cast(pl.Int8, strict=False) % 2 == 1
    return staged.with_columns(valid.alias(VALID)).with_columns(
        pl.when("_short")
        .then(pl.col("_first17") + check_char)
        .otherwise(raw.str.to_uppercase())
        .alias(STD),
        pl.when(VALID).then(born).alias(BIRTH_DATE),
        pl.when(VALID).then(pl.when(male).then(pl.lit("M")).otherwise(pl.lit("F"))).alias(SEX),
    )


def _check_value(first17: pl.Expr) -> pl.Expr:
    """The check character's value (``X`` = 10): the weighted sum of the digits, three at a
    time, each group's share read from a table of its 1 000 values."""
    shares = [
        pl.lit(table).gather(first17.str.slice(start, width).cast(pl.UInt32, strict=False))
        for start, width, table in _share_tables()
    ]
    return (12 - pl.sum_horizontal(shares) % 11) % 11


@cache
def _share_tables() -> list[tuple[int, int, pl.Series]]:
    tables = []
    for start in range(0, 17, 3):
        width = min(3, 17 - start)
        shares = [
            sum(int(digit) * WEIGHTS[start + j] for j, digit in enumerate(f"{value:0{width}d}"))
            for value in range(10**width)
        ]
        tables.append((start, width, pl.Series(shares, dtype=pl.Int32)))
    return tables
