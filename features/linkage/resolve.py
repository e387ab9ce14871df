"""A child's attributes from its records, and households from the family references.

The contract wants one birth date, sex, district, hukou and ethnicity per child; the
sources hold several, typed by different people. The rules, written once here:

- birth date: the date the child's valid ID numbers encode (the most common, then the
  earliest); else the most common full typed date; else a partial date completed to its
  middle (a year-month to the 15th, a year to 1 July), with the precision kept in
  identities.parquet; a child with no birth date at all cannot be a contract child and is
  held back (counted in linkage.json);
- sex: a valid ID number's over a typed one (most common), else ``U``;
- district: the district of the record with the most recently recorded event (records
  with no event last), a record with no district skipped; none: held back;
- hukou and ethnicity: the first known value in source precedence (``PRECEDENCE``:
  welfare casework and the community registers check papers, the hotline hears a caller).

Households join children who share a source's own family number (within that source), a
valid guardian ID number, a guardian phone, or a guardian name at one address; a key
shared by more children than the policy's ``households.max_children`` is not a household
(a clinic's phone typed for every child). A child sharing nothing keeps a null
household_id; a household is named ``H`` + its smallest child id's digits.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from features import schema as s
from features.linkage import records as r
from features.linkage import schema as ls
from features.linkage.graph import components

PRECEDENCE = (
    "welfare", "community", "social_aid", "education", "health", "police", "philanthropy",
    "reports",
)  # fmt: skip
PRECISION = ls.PRECISION
HELD_BACK = ls.HELD_BACK


def resolve_children(linked: pl.DataFrame, latest_event: pl.DataFrame) -> pl.DataFrame:
    """One row per child: the contract's attributes (household_id null) and ``held_back``.

    Parameters
    ----------
    linked
        The standardised records with their ``child_id``.
    latest_event
        ``source``, ``record_id``, ``latest`` (the latest recorded_at of its events).
    """
    rec = linked.join(latest_event, on=[ls.SOURCE, ls.RECORD_ID], how="left")
    children = rec.select(s.CHILD_ID).unique()
    for part in (_birth(rec), _sex(rec), _district(rec), _by_precedence(rec, s.HUKOU),
                 _by_precedence(rec, s.ETHNICITY)):  # fmt: skip
        children = children.join(part, on=s.CHILD_ID, how="left")
    return children.with_columns(
        pl.col(s.SEX).fill_null("U"),
        pl.col(s.HUKOU).fill_null("unknown"),
        pl.col(s.ETHNICITY).fill_null("unknown"),
        pl.lit(None, pl.String).alias(s.HOUSEHOLD_ID),
        (pl.col(s.BIRTH_DATE).is_null() | pl.col(s.DISTRICT).is_null()).alias(HELD_BACK),
    ).sort(s.CHILD_ID)


def _mode(frame: pl.DataFrame, column: str, alias: str) -> pl.DataFrame:
    """The most common non-null value per child (ties: the smallest)."""
    counted = frame.drop_nulls(column).group_by(s.CHILD_ID, column).agg(pl.len().alias("_n"))
    best = counted.sort("_n", column, descending=[True, False]).group_by(s.CHILD_ID).first()
    return best.select(s.CHILD_ID, pl.col(column).alias(alias))


def _birth(rec: pl.DataFrame) -> pl.DataFrame:
    by_id = _mode(rec.filter(pl.col(r.ID_USABLE)), r.BIRTH_FULL, "_id")
    typed = _mode(rec.filter(~pl.col(r.ID_USABLE)), r.BIRTH_FULL, "_day")
    month = rec.filter(pl.col(PRECISION) == "month").with_columns(
        pl.date(pl.col("birth_year"), pl.col("birth_month"), 15).alias("_m")
    )
    year = rec.filter(pl.col(PRECISION) == "year").with_columns(
        pl.date(pl.col("birth_year"), 7, 1).alias("_y")
    )
    parts = [by_id, typed, _mode(month, "_m", "_m"), _mode(year, "_y", "_y")]
    out = rec.select(s.CHILD_ID).unique()
    for part in parts:
        out = out.join(part, on=s.CHILD_ID, how="left")
    return out.select(
        s.CHILD_ID,
        pl.coalesce("_id", "_day", "_m", "_y").alias(s.BIRTH_DATE),
        pl.when(pl.col("_id").is_not_null() | pl.col("_day").is_not_null()).then(pl.lit("day"))
        .when(pl.col("_m").is_not_null()).then(pl.lit("month"))
        .when(pl.col("_y").is_not_null()).then(pl.lit("year"))
        .alias(PRECISION),
    )  # fmt: skip


def _sex(rec: pl.DataFrame) -> pl.DataFrame:
    by_id = _mode(rec.filter(pl.col(r.ID_USABLE)), r.SEX, "_id")
    typed = _mode(rec.filter(~pl.col(r.ID_USABLE)), r.SEX, "_typed")
    return by_id.join(typed, on=s.CHILD_ID, how="full", coalesce=True).select(
        s.CHILD_ID, pl.coalesce("_id", "_typed").alias(s.SEX)
    )


def _district(rec: pl.DataFrame) -> pl.DataFrame:
    known = rec.drop_nulls(ls.DISTRICT).sort(
        pl.col("latest").is_null(), "latest", ls.SOURCE, ls.RECORD_ID,
        descending=[False, True, False, False],
    )  # fmt: skip
    return known.group_by(s.CHILD_ID, maintain_order=True).first().select(s.CHILD_ID, ls.DISTRICT)


def _by_precedence(rec: pl.DataFrame, column: str) -> pl.DataFrame:
    rank = {source: i for i, source in enumerate(PRECEDENCE)}
    known = rec.filter(pl.col(column) != "unknown").with_columns(
        pl.col(ls.SOURCE).replace_strict(rank, default=len(rank), return_dtype=pl.Int32).alias("_r")
    )
    ordered = known.sort("_r", ls.SOURCE, ls.RECORD_ID)
    return ordered.group_by(s.CHILD_ID, maintain_order=True).first().select(s.CHILD_ID, column)


def households(linked: pl.DataFrame, max_children: int) -> pl.DataFrame:
    """``child_id`` -> ``household_id`` for children who share a family key with another."""
    keys = pl.concat(
        [
            _key(linked, pl.col(ls.SOURCE) + "|" + pl.col(ls.FAMILY_REF), "ref"),
            _key(linked.filter(pl.col("guardian_id_valid")), pl.col("guardian_id_std"), "gid"),
            _key(linked, pl.col("phone_std"), "phone"),
            _key(linked, pl.col("guardian_name_std") + "|" + pl.col("address_std"), "name"),
        ]
    ).unique()
    sized = keys.with_columns(pl.len().over("_key").alias("_n")).filter(
        (pl.col("_n") > 1) & (pl.col("_n") <= max_children)
    )
    ids = linked.select(s.CHILD_ID).unique().sort(s.CHILD_ID).with_row_index("_i")
    edges = sized.join(ids, on=s.CHILD_ID).with_columns(pl.col("_i").min().over("_key").alias("_j"))
    left = edges["_i"].cast(pl.Int64).to_numpy()
    right = edges["_j"].cast(pl.Int64).to_numpy()
    label = components(ids.height, left, right)
    size = np.bincount(label, minlength=ids.height)
    head = ids[s.CHILD_ID].gather(pl.Series(label))
    household = pl.Series(("H" + head.str.slice(1)).to_list()).set(pl.Series(size[label] < 2), None)
    return pl.DataFrame({s.CHILD_ID: ids[s.CHILD_ID], s.HOUSEHOLD_ID: household})


def _key(frame: pl.DataFrame, key: pl.Expr, kind: str) -> pl.DataFrame:
    return frame.select(s.CHILD_ID, (pl.lit(kind + ":") + key).alias("_key")).drop_nulls()
