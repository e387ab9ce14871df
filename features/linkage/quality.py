"""How well records were linked, against the truth: pairs, B-cubed, splits and merges.

A child split across two ids looks like two children with half the history each; two
children merged carry each other's records. Both are measured, overall and by the true
child's hukou, area and age band, because a linkage that loses migrants' or infants'
records is a fairness defect of everything downstream.

All counts come from the contingency table of (linked child, true child) cells, never
from enumerating pairs: a cluster of n records holds n(n-1)/2 pairs.

- pairwise precision: pairs linked that are true / pairs linked; recall: pairs linked
  that are true / true pairs (by group: the true pairs of the group's children, and the
  linked pairs with a record of the group's children);
- B-cubed precision and recall: per record, the share of its linked cluster that is its
  true child and the share of its true child in its linked cluster, averaged;
- split: the share of true children whose records lie in more than one linked child;
  merged: the share of true children sharing a linked child with another true child.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from features import schema as s
from features.deployment import Deployment

LINKED = "linked"
TRUE = "true"
GROUPS = ("hukou", "area", "age_band")
AGE_BANDS = ((0, 1, "under 1"), (1, 6, "1-5"), (6, 12, "6-11"), (12, 18, "12-17"), (18, 99, "18+"))


def linkage_quality(
    links: pl.DataFrame,
    truth: pl.DataFrame,
    children: pl.DataFrame,
    deployment: Deployment,
    exported_at: datetime,
) -> dict[str, Any]:
    """Linkage quality overall and by group.

    Parameters
    ----------
    links
        ``source``, ``record_id``, ``child_id`` (the linked child).
    truth
        ``source``, ``record_id``, ``child_id`` (the true child).
    children
        The true children (contract v1 children table) for the groups.
    deployment, exported_at
        For each district's area and each child's age at the export.
    """
    cells = _cells(links, truth, children, deployment, exported_at)
    report: dict[str, Any] = {"overall": _measures(cells, cells)}
    for group in GROUPS:
        report[group] = {
            str(value): _measures(cells, cells.filter(pl.col(group) == value))
            for value in sorted(cells[group].unique().drop_nulls().to_list())
        }
    return report


def _cells(
    links: pl.DataFrame,
    truth: pl.DataFrame,
    children: pl.DataFrame,
    deployment: Deployment,
    exported_at: datetime,
) -> pl.DataFrame:
    keys = ["source", "record_id"]
    pairs = links.select(*keys, pl.col(s.CHILD_ID).alias(LINKED)).join(
        truth.select(*keys, pl.col(s.CHILD_ID).alias(TRUE)), on=keys, how="inner"
    )
    cells = pairs.group_by(LINKED, TRUE).agg(pl.len().alias("n"))
    cells = cells.with_columns(
        pl.col("n").sum().over(LINKED).alias("linked_size"),
        pl.col("n").sum().over(TRUE).alias("true_size"),
        pl.len().over(TRUE).alias("true_parts"),
        pl.len().over(LINKED).alias("linked_parts"),
    )
    age = (pl.lit(exported_at.date()) - pl.col(s.BIRTH_DATE)).dt.total_days() / 365.25
    band = pl.lit(None, pl.String)
    for low, high, label in reversed(AGE_BANDS):
        band = pl.when((age >= low) & (age < high)).then(pl.lit(label)).otherwise(band)
    groups = children.select(
        pl.col(s.CHILD_ID).alias(TRUE), s.HUKOU,
        pl.col(s.DISTRICT).replace_strict(dict(deployment.districts), default=None).alias("area"),
        band.alias("age_band"),
    )  # fmt: skip
    return cells.join(groups, on=TRUE, how="left")


def _pairs(n: pl.Expr) -> pl.Expr:
    return n * (n - 1) / 2


def _measures(every: pl.DataFrame, group: pl.DataFrame) -> dict[str, float | int]:
    true_children = group.select(TRUE, "true_size", "true_parts").unique()
    linked_ids = group[LINKED].unique()
    linked = every.filter(pl.col(LINKED).is_in(linked_ids.implode()))
    sizes = linked.select(LINKED, "linked_size").unique()
    true_pairs = float(true_children.select(_pairs(pl.col("true_size"))).sum().item())
    good = float(group.select(_pairs(pl.col("n"))).sum().item())
    good_linked = float(linked.select(_pairs(pl.col("n"))).sum().item())
    predicted = float(sizes.select(_pairs(pl.col("linked_size"))).sum().item())
    records = int(group["n"].sum())
    return {
        "records": records,
        "true_children": true_children.height,
        "pairwise_precision": _ratio(good_linked, predicted),
        "pairwise_recall": _ratio(good, true_pairs),
        "pairwise_f1": _f1(_ratio(good_linked, predicted), _ratio(good, true_pairs)),
        "bcubed_precision": _ratio(_weighted(group, "linked_size"), records),
        "bcubed_recall": _ratio(_weighted(group, "true_size"), records),
        "split_share": _ratio(float((true_children["true_parts"] > 1).sum()), true_children.height),
        "merged_share": _ratio(float(group.filter(pl.col("linked_parts") > 1)[TRUE].n_unique()),
                               true_children.height),
    }  # fmt: skip


def _weighted(cells: pl.DataFrame, size: str) -> float:
    """Sum over records of |cell| / |cluster|: each cell's n records contribute n * n / size."""
    return float(cells.select((pl.col("n") * pl.col("n") / pl.col(size)).sum()).item())


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 6) if whole else 1.0


def _f1(precision: float, recall: float) -> float:
    return round(2 * precision * recall / (precision + recall), 6) if precision + recall else 0.0
