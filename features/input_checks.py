"""Input checks: is the data a batch is scored on what it has been?

Why: deployed tools failed silently on their inputs. A computed input was wrong for
months before anyone looked (Allegheny's, found by De-Arteaga et al.); records went
unlinked or were entered wrong (Illinois); sources stopped sending, and the scores
carried on as if the children had no records. A score read from a source gone silent
is low because the data is missing, not because the child is safe. So before every
batch the data is compared with itself over the trailing weeks, and each thing that
moved is named with the source and the district.

How: the ``weeks`` days before the as-of date are cut into weeks counted back from it
(week 0 the latest). For each subject (a source, a source in a district, a column of a
kind of record), this week's figure is compared with the median of the ``trailing``
weeks before it, under the thresholds of ``InputThresholds`` (the monitoring policy,
models.monitoring, sets them):

- **volume**: records recorded per source, and per source and district. Silent (none
  this week), halved or doubled against the trailing median; a subject whose median is
  below ``min_weekly`` is too small to judge and is not named.
- **late**: the median days from occurred_at to recorded_at per source, against its
  trailing median: a source that now records ``late_factor`` times later is named.
- **missing**: per kind of record and column it uses (severity, amount, detail), the
  share recorded without a value, against its share over the trailing weeks.
- **linkage**, where riskflag linked the records: per source, the share of records
  linked by ID number, by the model (or a reviewer) and left single.

A week of a small district or source moves by chance, and an alarm that rings every
week is one nobody reads. So a change is named only when it is both as large as the
policy says and unlikely by chance at the level ``alpha``: a count against a Poisson
with the trailing median as its mean, a share against a binomial with the trailing
share (counted with half a record each way, so a share of none is not certainty).

A finding is data, not words: the service stores it with the batch and the pages and
the API say it (serving.monitoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import polars as pl
from scipy.stats import binom, poisson

from features import schema as s
from features.contract import CaseHistories

SOURCE: Final = "__source"
WEEK: Final = "__week"
LINK_HOW: Final = "how"  # a record's link, where known: features.linkage.schema.HOW_VALUES
CHECKS: Final = ("volume", "late", "missing", "linkage")


@dataclass(frozen=True)
class InputThresholds:
    """What counts as a problem in the inputs (models.monitoring reads them from the
    monitoring policy)."""

    weeks: int = 9  # the week checked and the trailing weeks before it
    min_weekly: int = 20  # a trailing median below this is too small to judge
    halved: float = 0.5  # this week at most this share of the median: "halved"
    doubled: float = 2.0  # at least this multiple of the median: "doubled"
    late_factor: float = 2.0  # the median delay this many times the trailing median's
    late_min_days: float = 7.0  # ... and at least this many days later
    missing_rise: float = 0.2  # a missing share this much above its trailing share
    linkage_drop: float = 0.15  # a linkage share this much off its trailing share
    alpha: float = 0.001  # ... and each unlikely by chance at this level


@dataclass(frozen=True)
class Finding:
    """One figure of one check: ``subject`` (a source; ``source/district``; ``event_type
    column``; ``source how``), this week's ``value`` beside the trailing ``expected``,
    and ``problem`` (silent, halved, doubled, late, missing, linkage) or None."""

    check: str
    subject: str
    value: float
    expected: float
    problem: str | None


def check_inputs(
    histories: CaseHistories,
    as_of: date,
    thresholds: InputThresholds,
    links: pl.DataFrame | None = None,
) -> list[Finding]:
    """Every input check of ``histories`` for a batch on ``as_of``; ``links`` (event_id,
    how) where riskflag linked the records. Problems first, then by check and subject."""
    weekly = _weekly(histories, as_of, thresholds.weeks)
    found = [
        *volumes(weekly, thresholds),
        *lateness(weekly, thresholds),
        *missing(weekly, thresholds),
    ]
    if links is not None:
        found += linkage(weekly, links, thresholds)
    return sorted(found, key=lambda f: (f.problem is None, CHECKS.index(f.check), f.subject))


def _weekly(histories: CaseHistories, as_of: date, weeks: int) -> pl.DataFrame:
    """The events recorded in the ``weeks`` weeks before ``as_of``, with their source,
    week (0: the latest) and district."""
    end = datetime(as_of.year, as_of.month, as_of.day)
    start = end - timedelta(weeks=weeks)
    days = (pl.lit(end) - pl.col(s.RECORDED_AT)).dt.total_days()
    return (
        histories.events.filter((pl.col(s.RECORDED_AT) >= start) & (pl.col(s.RECORDED_AT) < end))
        .join(histories.children.select(s.CHILD_ID, s.DISTRICT), on=s.CHILD_ID, how="left")
        .with_columns(
            pl.col(s.EVENT_TYPE).cast(pl.String).str.split(".").list.first().alias(SOURCE),
            (days // 7).cast(pl.Int32).alias(WEEK),
        )
        .collect()
    )


def _against_trailing(
    figures: pl.DataFrame, keys: list[str], value: str, weeks: int
) -> pl.DataFrame:
    """Per subject (``keys``): this week's ``value`` (0 where the week has no row) and
    the median over the trailing weeks (missing weeks count as 0)."""
    subjects = figures.select(keys).unique()
    grid = subjects.join(
        pl.DataFrame({WEEK: list(range(weeks))}, schema={WEEK: pl.Int32}), how="cross"
    )
    full = grid.join(figures, on=[*keys, WEEK], how="left").with_columns(
        pl.col(value).fill_null(0.0)
    )
    return full.group_by(keys).agg(
        pl.col(value).filter(pl.col(WEEK) == 0).first().alias("value"),
        pl.col(value).filter(pl.col(WEEK) > 0).median().alias("expected"),
    )


def volumes(weekly: pl.DataFrame, thresholds: InputThresholds) -> list[Finding]:
    """Records per source, and per source and district, this week against the trailing
    median: silent, halved or doubled."""
    found = []
    for keys in ([SOURCE], [SOURCE, s.DISTRICT]):
        counts = weekly.group_by([*keys, WEEK]).agg(pl.len().cast(pl.Float64).alias("n"))
        for row in _against_trailing(counts, keys, "n", thresholds.weeks).iter_rows(named=True):
            if row["expected"] < thresholds.min_weekly:
                continue
            subject = "/".join(str(row[k]) for k in keys)
            found.append(
                Finding("volume", subject, row["value"], row["expected"], _volume(row, thresholds))
            )
    return found


def _volume(row: dict[str, float], thresholds: InputThresholds) -> str | None:
    """Silent, halved or doubled, each only where a Poisson with the trailing median as
    its mean makes this week's count unlikely at ``alpha``."""
    value, expected = row["value"], row["expected"]
    low = poisson.cdf(value, expected) < thresholds.alpha
    high = poisson.sf(value - 1, expected) < thresholds.alpha
    if value == 0 and low:
        return "silent"
    if value <= thresholds.halved * expected and low:
        return "halved"
    if value >= thresholds.doubled * expected and high:
        return "doubled"
    return None


def lateness(weekly: pl.DataFrame, thresholds: InputThresholds) -> list[Finding]:
    """The median days from occurrence to recording per source, against its trailing
    median."""
    delay = (pl.col(s.RECORDED_AT) - pl.col(s.OCCURRED_AT)).dt.total_seconds() / 86_400
    medians = weekly.group_by(SOURCE, WEEK).agg(delay.median().alias("days"), pl.len().alias("n"))
    found = []
    for row in _against_trailing(medians.drop("n"), [SOURCE], "days", thresholds.weeks).iter_rows(
        named=True
    ):
        mine = medians.filter(pl.col(SOURCE) == row[SOURCE])
        this_week = int(mine.filter(pl.col(WEEK) == 0)["n"].sum())
        before = int(mine["n"].sum()) - this_week
        if before < thresholds.min_weekly or this_week < thresholds.min_weekly:
            continue
        later = row["value"] - row["expected"]
        problem = (
            "late"
            if later >= thresholds.late_min_days
            and row["value"] >= thresholds.late_factor * max(row["expected"], 1.0)
            else None
        )
        found.append(Finding("late", row[SOURCE], row["value"], row["expected"], problem))
    return found


def missing(weekly: pl.DataFrame, thresholds: InputThresholds) -> list[Finding]:
    """Per kind of record and column it uses, the share recorded without a value."""
    found = []
    for event_type, kind in s.CATALOGUE.items():
        columns = [
            name
            for name, used in (
                (s.SEVERITY, kind.severity is not None),
                (s.AMOUNT, kind.uses_amount),
                (s.DETAIL, bool(kind.details)),
            )
            if used
        ]
        mine = weekly.filter(pl.col(s.EVENT_TYPE).cast(pl.String) == event_type)
        for column in columns:
            shares = mine.group_by(WEEK).agg(
                pl.col(column).is_null().mean().alias("share"), pl.len().alias("n")
            )
            if shares.filter(pl.col(WEEK) > 0)["n"].sum() < thresholds.min_weekly:
                continue
            now, before, unlikely = _shares(shares, thresholds.alpha)
            risen = now - before >= thresholds.missing_rise and unlikely
            found.append(
                Finding(
                    "missing", f"{event_type} {column}", now, before, "missing" if risen else None
                )
            )
    return found


def _shares(shares: pl.DataFrame, alpha: float) -> tuple[float, float, bool]:
    """This week's share, the trailing weeks' share (pooled), and whether this week's
    is unlikely at ``alpha`` under a binomial with the trailing share (half a record
    added each way: a trailing share of none is not certainty)."""
    counted = shares.with_columns((pl.col("share") * pl.col("n")).alias("x"))
    now = counted.filter(pl.col(WEEK) == 0)
    before = counted.filter(pl.col(WEEK) > 0)
    n_now, x_now = int(now["n"].sum()), float(now["x"].sum())
    n_before, x_before = int(before["n"].sum()), float(before["x"].sum())
    expected = (x_before + 0.5) / (n_before + 1)
    if n_now == 0:
        return 0.0, x_before / max(n_before, 1), False
    x = round(x_now)
    unlikely = min(binom.cdf(x, n_now, expected), binom.sf(x - 1, n_now, expected)) < alpha
    return x_now / n_now, x_before / max(n_before, 1), bool(unlikely)


def linkage(
    weekly: pl.DataFrame, links: pl.DataFrame, thresholds: InputThresholds
) -> list[Finding]:
    """Per source, the share of records linked by ID number, by the model or a reviewer,
    and left single, against the trailing shares."""
    linked = weekly.join(links.select(s.EVENT_ID, LINK_HOW), on=s.EVENT_ID, how="inner")
    how = (
        pl.when(pl.col(LINK_HOW).is_in(["match", "review"]))
        .then(pl.lit("model"))
        .otherwise(pl.col(LINK_HOW))
    )
    found = []
    for source in sorted(linked[SOURCE].unique().to_list()):
        mine = linked.filter(pl.col(SOURCE) == source).with_columns(how.alias("__how"))
        if mine.filter(pl.col(WEEK) > 0).height < thresholds.min_weekly:
            continue
        for way in ("id_number", "model", "single"):
            shares = mine.group_by(WEEK).agg(
                (pl.col("__how") == way).mean().alias("share"), pl.len().alias("n")
            )
            now, before, unlikely = _shares(shares, thresholds.alpha)
            moved = abs(now - before) >= thresholds.linkage_drop and unlikely
            problem = "linkage" if moved else None
            found.append(Finding("linkage", f"{source} {way}", now, before, problem))
    return found
