"""Does the flag treat groups of children differently? A per-group audit with counts.

A risk flag can be calibrated overall and still burden one group: flag its children more
often, raise more false alarms among its children without the outcome (FPR), or miss more
of its children with the outcome (FNR). Which of these matters is a policy question, so
the audit reports all of them per group of each attribute (area, district, hukou, sex,
ethnicity, disability, ...), always beside the counts they come from:

- ``flag_rate`` flagged / n; ``fpr`` flagged among y == 0; ``fnr`` not flagged among
  y == 1; ``precision`` y == 1 among flagged (None when nothing is flagged);
- calibration per group: ``mean_probability`` beside the observed ``outcome_rate`` (the
  probability is a calibrated rate of the recorded outcome, not a probability of harm, so
  a group whose mean predicted rate is far from its observed rate is mis-served);
- for flag_rate, fpr, fnr and precision, the **disparity**: the group's metric divided by
  the reference group's (given, or else the largest group other than "(missing)"), judged
  within a tolerance (by default the four-fifths rule, 0.8 to 1.25).

A group, or a reference, with fewer than ``min_count`` rows is "too few to judge": its
ratios are shown but neither pass nor fail, since a handful of children cannot show a
disparity and should not hide one. A ratio is undefined (None) when either metric is
undefined or the reference metric is 0. Null attribute values are the group "(missing)":
a missing attribute is itself a pattern to look at, never a row dropped.

The recorded outcome reflects agency decisions and surveillance as well as children's
circumstances, so equal error rates against it are necessary, not sufficient, evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

import polars as pl

MISSING: Final = "(missing)"
JUDGED_METRICS: Final = ("flag_rate", "fpr", "fnr", "precision")
_GROUP_DTYPES: Final = (pl.String, pl.Enum, pl.Categorical, pl.Boolean)


class FairnessError(ValueError):
    """An audit that cannot be run; says which column, attribute or group and why."""


@dataclass(frozen=True)
class Disparity:
    """One metric of a group against the reference group of its attribute.

    ``count`` of ``denominator`` gives ``value`` (e.g. 12 false positives of 390 children
    without the outcome); likewise ``reference_count`` of ``reference_denominator``.
    ``within_tolerance`` is None when the ratio is undefined or too few rows to judge.
    """

    metric: str
    value: float | None
    count: int
    denominator: int
    reference_value: float | None
    reference_count: int
    reference_denominator: int
    ratio: float | None
    within_tolerance: bool | None
    too_few: bool

    @property
    def judgement(self) -> str:
        """ "within tolerance", "outside tolerance", "too few to judge" or "undefined"."""
        if self.ratio is None:
            return "undefined"
        if self.too_few:
            return "too few to judge"
        return "within tolerance" if self.within_tolerance else "outside tolerance"


@dataclass(frozen=True)
class GroupRow:
    """The metrics of one group of one attribute."""

    attribute: str
    group: str
    reference: str
    n: int
    positives: int
    base_rate: float
    flagged: int
    flag_rate: float
    false_positives: int
    fpr: float | None
    false_negatives: int
    fnr: float | None
    true_positives: int
    precision: float | None
    mean_probability: float
    outcome_rate: float
    calibration_ratio: float | None
    disparities: tuple[Disparity, ...]

    @property
    def is_reference(self) -> bool:
        return self.group == self.reference

    def disparity(self, metric: str) -> Disparity:
        for item in self.disparities:
            if item.metric == metric:
                return item
        raise FairnessError(f"no disparity for {metric!r}; judged: {JUDGED_METRICS}")


@dataclass(frozen=True)
class Violation:
    """A judged metric of a group outside tolerance, with the counts behind it."""

    attribute: str
    group: str
    reference: str
    disparity: Disparity

    def describe(self) -> str:
        d = self.disparity
        return (
            f"{self.attribute}={self.group}: {d.metric} {_num(d.value)} vs "
            f"{_num(d.reference_value)} for {self.reference} ({d.count} of {d.denominator}"
            f" vs {d.reference_count} of {d.reference_denominator}), ratio {_num(d.ratio, 2)}"
        )


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


@dataclass(frozen=True)
class FairnessReport:
    rows: tuple[GroupRow, ...]
    references: Mapping[str, str]
    tolerance: tuple[float, float]
    min_count: int

    def to_frame(self) -> pl.DataFrame:
        """One row per attribute and group; per judged metric its disparity and judgement."""
        records = []
        for row in self.rows:
            record: dict[str, Any] = {
                key: value for key, value in asdict(row).items() if key != "disparities"
            }
            record["is_reference"] = row.is_reference
            for item in row.disparities:
                record[f"{item.metric}_disparity"] = item.ratio
                record[f"{item.metric}_within_tolerance"] = item.within_tolerance
                record[f"{item.metric}_judgement"] = item.judgement
            records.append(record)
        return pl.DataFrame(records, infer_schema_length=None)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``json.dumps``, with each violation described in words."""
        return {
            "tolerance": list(self.tolerance),
            "min_count": self.min_count,
            "references": dict(self.references),
            "rows": [asdict(row) for row in self.rows],
            "violations": [violation.describe() for violation in self.violations()],
        }

    def violations(self) -> list[Violation]:
        return [
            Violation(row.attribute, row.group, row.reference, item)
            for row in self.rows
            for item in row.disparities
            if item.within_tolerance is False
        ]

    @property
    def ok(self) -> bool:
        """No judged group is outside tolerance (too-few-to-judge groups are not judged)."""
        return not self.violations()

    def with_tolerance(self, tolerance: tuple[float, float]) -> FairnessReport:
        """The same audit judged with another tolerance."""
        low, high = _check_tolerance(tolerance)
        rows = tuple(
            replace(
                row,
                disparities=tuple(
                    replace(item, within_tolerance=_judge(item.ratio, item.too_few, low, high))
                    for item in row.disparities
                ),
            )
            for row in self.rows
        )
        return replace(self, rows=rows, tolerance=(low, high))


def _check_tolerance(tolerance: tuple[float, float]) -> tuple[float, float]:
    low, high = (float(value) for value in tolerance)
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= 1 <= high):
        raise FairnessError(f"tolerance: need 0 < low <= 1 <= high, got {tolerance}")
    return low, high


def _judge(ratio: float | None, too_few: bool, low: float, high: float) -> bool | None:
    if ratio is None or too_few:
        return None
    return low <= ratio <= high


def _rate(count: int, denominator: int) -> float | None:
    return count / denominator if denominator else None


def _check_frame(frame: pl.DataFrame, attributes: Sequence[str]) -> None:
    if isinstance(attributes, str):
        raise FairnessError("attributes: a sequence of column names, not one string")
    if not attributes:
        raise FairnessError("attributes: name at least one column to audit")
    missing = [c for c in ("y", "probability", "flagged", *attributes) if c not in frame.columns]
    if missing:
        raise FairnessError(f"frame: no column {missing[0]!r}")
    if frame.height == 0:
        raise FairnessError("frame: no rows to audit")
    for name in ("y", "probability", "flagged"):
        if frame[name].null_count():
            raise FairnessError(f"{name}: {frame[name].null_count()} null values")
    if not frame["y"].dtype.is_numeric() or not frame["y"].is_in([0, 1]).all():
        raise FairnessError("y: every value must be 0 or 1")
    if frame["flagged"].dtype != pl.Boolean:
        raise FairnessError(f"flagged: expected Boolean, got {frame['flagged'].dtype}")
    probability = frame["probability"]
    if not probability.dtype.is_float() or probability.is_nan().any():
        raise FairnessError("probability: expected floats, none NaN")
    if not probability.is_between(0, 1).all():
        raise FairnessError("probability: values outside [0, 1]")
    for attribute in attributes:
        dtype = frame[attribute].dtype
        if not isinstance(dtype, _GROUP_DTYPES):
            raise FairnessError(
                f"{attribute}: expected a String, Enum, Categorical or Boolean column, got {dtype}"
            )


def _group_counts(frame: pl.DataFrame, attribute: str) -> list[dict[str, Any]]:
    y = pl.col("y") == 1
    flagged = pl.col("flagged")
    values = frame[attribute].cast(pl.String)
    if values.null_count() and (values == MISSING).any():
        raise FairnessError(
            f"{attribute}: has both null values and a group named {MISSING!r}; rename that group"
        )
    return (
        frame.select(values.fill_null(MISSING).alias("group"), "y", "flagged", "probability")
        .group_by("group")
        .agg(
            n=pl.len(),
            positives=y.sum(),
            flagged=flagged.sum(),
            false_positives=(flagged & ~y).sum(),
            true_positives=(flagged & y).sum(),
            mean_probability=pl.col("probability").mean(),
        )
        .sort(["n", "group"], descending=[True, False])
        .to_dicts()
    )


def _metrics(counts: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Count and denominator of each judged metric."""
    n, positives, flagged = counts["n"], counts["positives"], counts["flagged"]
    return {
        "flag_rate": (flagged, n),
        "fpr": (counts["false_positives"], n - positives),
        "fnr": (positives - counts["true_positives"], positives),
        "precision": (counts["true_positives"], flagged),
    }


def audit(
    frame: pl.DataFrame,
    attributes: Sequence[str],
    reference: Mapping[str, str] | None = None,
    tolerance: tuple[float, float] = (0.8, 1.25),
    min_count: int = 50,
) -> FairnessReport:
    """Per-group flag rate, error rates, precision and calibration, against a reference.

    ``frame``: columns ``y`` (0/1), ``probability`` (float), ``flagged`` (Boolean) and one
    String, Enum, Categorical or Boolean column per attribute. ``reference``: the
    reference group of an attribute; by default its largest group (ties by name) other than
    "(missing)", unless every value is missing.
    """
    _check_frame(frame, attributes)
    low, high = _check_tolerance(tolerance)
    if min_count < 1:
        raise FairnessError(f"min_count: at least 1, got {min_count}")
    given = dict(reference or {})
    unknown = sorted(set(given) - set(attributes))
    if unknown:
        raise FairnessError(f"reference: {unknown[0]!r} is not an audited attribute")
    rows: list[GroupRow] = []
    references: dict[str, str] = {}
    for attribute in dict.fromkeys(attributes):
        groups = _group_counts(frame, attribute)
        by_name = {group["group"]: group for group in groups}
        named = [group["group"] for group in groups if group["group"] != MISSING]
        chosen = given.get(attribute, (named or [MISSING])[0])
        if chosen not in by_name:
            raise FairnessError(
                f"reference for {attribute}: no group {chosen!r} (groups: {sorted(by_name)})"
            )
        references[attribute] = chosen
        base = by_name[chosen]
        base_metrics = _metrics(base)
        for counts in groups:
            disparities = []
            too_few = counts["n"] < min_count or base["n"] < min_count
            for metric, (count, denominator) in _metrics(counts).items():
                ref_count, ref_denominator = base_metrics[metric]
                value = _rate(count, denominator)
                ref_value = _rate(ref_count, ref_denominator)
                ratio = value / ref_value if value is not None and ref_value else None
                disparities.append(
                    Disparity(
                        metric=metric,
                        value=value,
                        count=count,
                        denominator=denominator,
                        reference_value=ref_value,
                        reference_count=ref_count,
                        reference_denominator=ref_denominator,
                        ratio=ratio,
                        within_tolerance=_judge(ratio, too_few, low, high),
                        too_few=too_few,
                    )
                )
            metrics = {name: _rate(*pair) for name, pair in _metrics(counts).items()}
            outcome_rate = counts["positives"] / counts["n"]
            mean_probability = float(counts["mean_probability"])
            rows.append(
                GroupRow(
                    attribute=attribute,
                    group=counts["group"],
                    reference=chosen,
                    n=counts["n"],
                    positives=counts["positives"],
                    base_rate=outcome_rate,
                    flagged=counts["flagged"],
                    flag_rate=counts["flagged"] / counts["n"],
                    false_positives=counts["false_positives"],
                    fpr=metrics["fpr"],
                    false_negatives=counts["positives"] - counts["true_positives"],
                    fnr=metrics["fnr"],
                    true_positives=counts["true_positives"],
                    precision=metrics["precision"],
                    mean_probability=mean_probability,
                    outcome_rate=outcome_rate,
                    calibration_ratio=mean_probability / outcome_rate if outcome_rate else None,
                    disparities=tuple(disparities),
                )
            )
    return FairnessReport(tuple(rows), references, (low, high), min_count)
