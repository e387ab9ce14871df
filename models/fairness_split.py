"""The fairness audit, split: the model alone, judged at promotion, apart from the capacity
policy's effect, accepted once when the policy is set.

Why: the flagging policy rations flags (at most K per district and batch), so districts of
unequal size get unequal flag rates whatever the model does. Judging the model through the
policy made every fresh, fair model fail its gate and be promoted on a hand-written
justification, which teaches everyone to justify. So:

- **the model alone** flags, in each batch, the N children of the whole city with the
  highest rates, N being the number the policy flagged in that batch (a city-wide
  threshold with the policy's total). Per group of each audited attribute it reports the
  flag rate, and judges the false positive rate, the false negative rate and the
  precision against the attribute's reference group, and calibration within the group
  (its mean rate over its observed outcome rate), each with a bootstrap confidence
  interval. A disparity is a violation only when its whole interval lies outside the
  tolerance band; an interval across a bound is "uncertain", reported, not failed, so a
  small group is judged as honestly as its numbers allow. This is what the promotion
  gate judges.
- **the policy's effect**: per group, the flag rate under the policy beside the model
  alone's, and the policy's own judged disparities (models.fairness.audit on the
  policy's flags). Reported beside the model's audit; the gate asks only that the
  policy's capacity rule was accepted (models.flagging.PolicyAcceptance).

How: the bootstrap resamples children (a child's rows stay together) with Poisson(1)
weights: each group's counts are summed per child, then weighted for all resamples at
once by one matrix product per chunk of children, so 1,000 resamples of 100,000 rows
(20,000 children) take under two seconds and 200 about half a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from models.fairness import MISSING, FairnessReport

JUDGED: Final = ("fpr", "fnr", "precision", "calibration")
RESAMPLES: Final = 1000
CONFIDENCE: Final = 0.95  # for all of an attribute's groups at once (Bonferroni)
CHUNK_CHILDREN: Final = 20_000
# the sums each group's metrics are made of (per row: 0/1 indicators and the rate)
_SUMS: Final = ("n", "negatives", "positives", "flagged", "false_positives", "true_positives",
                "probability", "policy_flagged")  # fmt: skip


@dataclass(frozen=True)
class Judged:
    """One judged metric of a group: its value and CI, its ratio to the reference (for
    calibration: to the observed outcome rate) with the ratio's CI, and the judgement."""

    metric: str
    value: float | None
    low: float | None
    high: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    judgement: str  # within tolerance, outside tolerance, uncertain, too few to judge, undefined


@dataclass(frozen=True)
class ModelGroup:
    attribute: str
    group: str
    reference: str
    n: int
    positives: int
    flag_rate_model: float
    flag_rate_policy: float
    judged: tuple[Judged, ...]


@dataclass(frozen=True)
class SplitReport:
    """The model alone (``groups``, judged) and the policy's effect (``policy``: the
    audit of the policy's own flags)."""

    groups: tuple[ModelGroup, ...]
    policy: FairnessReport
    tolerance: tuple[float, float]
    min_count: int
    resamples: int
    flags_per_batch: dict[str, int]

    def violations(self) -> list[str]:
        """The model's judged disparities outside tolerance, described with their CIs."""
        return [
            f"{g.attribute}={g.group}: {j.metric} ratio {_num(j.ratio)} "
            f"(interval {_num(j.ratio_low)} to {_num(j.ratio_high)}) "
            + ("vs its observed rate" if j.metric == "calibration" else f"vs {g.reference}")
            for g in self.groups
            for j in g.judged
            if j.judgement == "outside tolerance"
        ]

    def uncertain(self) -> int:
        return sum(j.judgement == "uncertain" for g in self.groups for j in g.judged)

    @property
    def ok(self) -> bool:
        return not self.violations()

    def to_markdown(self) -> str:
        """The model alone's audit: per attribute a table of each group's judged metrics
        with their confidence intervals and judgements, then the violations."""
        low, high = self.tolerance
        lines = [
            "# Fairness of the model alone",
            "",
            f"Flags at a city-wide threshold, as many per batch as the policy gave "
            f"({sum(self.flags_per_batch.values()):,} over {len(self.flags_per_batch)} "
            f"batches). Ratios to the reference group (calibration: mean rate over observed "
            f"rate) with bootstrap intervals over {self.resamples} resamples of children, "
            f"95% for all of an attribute's groups at once; "
            f"outside tolerance only when the whole interval lies outside {low:.2f}-{high:.2f}, "
            f"uncertain when it crosses a bound; groups under {self.min_count} rows are too "
            "few to judge.",
        ]
        header = "| group | rows | flag rate (model / policy) | " + " | ".join(JUDGED) + " |"
        for attribute in dict.fromkeys(g.attribute for g in self.groups):
            groups = [g for g in self.groups if g.attribute == attribute]
            lines += ["", f"## {attribute} (reference: {groups[0].reference})", "", header,
                      "|" + "---|" * (3 + len(JUDGED))]  # fmt: skip
            lines += [_markdown_row(g) for g in groups]
        found = self.violations()
        lines += ["", "## Summary", ""]
        lines += [f"- {v}" for v in found] or [
            "No judged disparity of the model is outside tolerance."
        ]
        lines += ["", f"Uncertain (an interval across a bound): {self.uncertain()}."]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "tolerance": list(self.tolerance),
            "min_count": self.min_count,
            "resamples": self.resamples,
            "flags_per_batch": self.flags_per_batch,
            "groups": [asdict(g) for g in self.groups],
            "violations": self.violations(),
            "uncertain": self.uncertain(),
        }


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _markdown_row(group: ModelGroup) -> str:
    cells = [
        group.group,
        f"{group.n:,}",
        f"{group.flag_rate_model:.3f} / {group.flag_rate_policy:.3f}",
        *(
            f"{_num(j.ratio)} [{_num(j.ratio_low)}, {_num(j.ratio_high)}] {j.judgement}"
            for j in group.judged
        ),
    ]
    return "| " + " | ".join(cells) + " |"


def model_flags(scored: pl.DataFrame, batch: str = "as_of") -> pl.Series:
    """The model alone's flags: in each batch, the policy's number of flags given to the
    highest rates of the whole batch (ties by child_id, as the policy breaks them)."""
    rank = pl.struct(pl.col("probability").neg(), pl.col("child_id")).rank("ordinal").over(batch)
    total = pl.col("flagged").cast(pl.Int64).sum().over(batch)
    return scored.select((rank <= total).alias("flagged_model")).to_series()


def split_audit(
    frame: pl.DataFrame,
    policy: FairnessReport,
    attributes: Sequence[str],
    tolerance: tuple[float, float] = (0.8, 1.25),
    min_count: int = 50,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> SplitReport:
    """Judge the model alone on ``frame`` (columns child_id, as_of, y, probability,
    flagged: the policy's flags, and the attributes), beside ``policy``: the audit of the
    policy's own flags on the same frame (models.fairness.audit), whose references the
    model's audit shares."""
    frame = frame.with_columns(model_flags(frame))
    child = _child_index(frame["child_id"])
    weights = _poisson_weights(int(child.max()) + 1, resamples, seed)
    rng = np.random.default_rng(seed + 1)
    groups: list[ModelGroup] = []
    for attribute in attributes:
        values = frame[attribute].cast(pl.String).fill_null(MISSING)
        names = sorted(set(values.to_list()))
        sums, boot = _group_sums(frame, values, names, child, weights)
        children = frame.group_by(values.alias("_group")).agg(pl.col("child_id").n_unique())
        known = dict(children.iter_rows())
        per_child = np.array([known[name] for name in names]) / sums[:, 0]
        reference = policy.references[attribute]
        drawn = _drawn(boot, per_child, rng)
        counts = _Counts(sums, _metrics(sums), drawn, names.index(reference))
        groups += [
            _group(attribute, name, reference, index, counts, tolerance, min_count)
            for index, name in enumerate(names)
        ]
    batches = frame.group_by("as_of").agg(pl.col("flagged").sum()).sort("as_of")
    per_batch = {str(day): int(n) for day, n in batches.iter_rows()}
    return SplitReport(tuple(groups), policy, tolerance, min_count, resamples, per_batch)


def _child_index(children: pl.Series) -> npt.NDArray[np.int64]:
    """Each row's child as a number from 0, so a child's rows share a bootstrap weight."""
    codes = children.cast(pl.String).cast(pl.Categorical).to_physical().to_numpy()
    return np.unique(codes, return_inverse=True)[1].astype(np.int64)


def _poisson_weights(children: int, resamples: int, seed: int) -> npt.NDArray[np.float32]:
    """Poisson(1) bootstrap weights, children x resamples: a uniform draw counts the
    points of the Poisson distribution function it exceeds (numpy's own Poisson sampler
    is several times slower, and 1,000 resamples of 20,000 children are 20 million)."""
    cdf = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(12)])
    uniform = np.random.default_rng(seed).random((children, resamples), dtype=np.float32)
    weights = np.zeros(uniform.shape, dtype=np.float32)
    for point in cdf[cdf < 1].astype(np.float32):
        weights += uniform >= point
    return weights


def _indicators(frame: pl.DataFrame) -> npt.NDArray[np.float64]:
    """Per row, the quantities of ``_SUMS`` (the model alone's flags, then the policy's)."""
    y = frame["y"].to_numpy().astype(bool)
    flagged = frame["flagged_model"].to_numpy().astype(bool)
    policy = frame["flagged"].to_numpy().astype(bool)
    columns = [np.ones(len(y)), ~y, y, flagged, flagged & ~y, flagged & y]
    return np.column_stack([*columns, frame["probability"].to_numpy(), policy]).astype(np.float64)


def _group_sums(
    frame: pl.DataFrame,
    values: pl.Series,
    names: list[str],
    child: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each group's sums on the data (groups x sums) and in every resample (resamples x
    groups x sums): each row's quantities placed under its group, summed per child (a
    child's rows share its weight), then weighted by one matrix product per chunk of
    children."""
    rows = _indicators(frame)
    member = np.column_stack([(values == name).to_numpy() for name in names]).astype(np.float64)
    placed = (member[:, :, None] * rows[:, None, :]).reshape(len(rows), -1)
    per_child = _sum_by(child, placed)
    sums = per_child.sum(axis=0).reshape(len(names), len(_SUMS))
    boot = np.zeros((weights.shape[1], placed.shape[1]))
    for start in range(0, len(per_child), CHUNK_CHILDREN):
        chunk = slice(start, start + CHUNK_CHILDREN)
        boot += weights[chunk].T.astype(np.float64) @ per_child[chunk]
    return sums, boot.reshape(weights.shape[1], len(names), len(_SUMS))


def _sum_by(
    index: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Row ``i`` of the result: the sum of the rows of ``values`` whose ``index`` is ``i``
    (every index from 0 present), by sorting and summing runs; np.add.at is far slower."""
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    return np.add.reduceat(values[order], np.flatnonzero(np.r_[True, np.diff(ordered) != 0]))


def _metrics(s: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.float64]]:
    """fpr, fnr, precision and calibration from sums (last axis: _SUMS); NaN where a
    denominator is 0."""
    n, neg, pos, flagged, fp, tp, prob, _ = (s[..., i] for i in range(len(_SUMS)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "fpr": np.where(neg > 0, fp / neg, np.nan),
            "fnr": np.where(pos > 0, (pos - tp) / pos, np.nan),
            "precision": np.where(flagged > 0, tp / flagged, np.nan),
            "calibration": np.where(pos > 0, (prob / n) / (pos / n), np.nan),
        }


def _drawn(
    boot: npt.NDArray[np.float64], per_child: npt.NDArray[np.float64], rng: np.random.Generator
) -> dict[str, npt.NDArray[np.float64]]:
    """The metrics of each resample, each proportion drawn from its Jeffreys posterior
    Beta(count + 1/2, misses + 1/2) on the resample's counts: a resample of 0 of 13 then
    still says "somewhere from 0 to about 17 in 100", where the plain percentile
    bootstrap of a zero count would claim exactly 0 and fail a group for its size.

    The counts enter the posterior per child, not per row (``per_child``: each group's
    children over its rows): a child's rows in consecutive batches share most of their
    outcome window, so one recorded intervention shows in up to as many rows as batches,
    and counting it that often would claim three times the evidence there is."""
    n, neg, pos, flagged, fp, tp, prob, _ = (boot[..., i] for i in range(len(_SUMS)))

    def rate(
        count: npt.NDArray[np.float64], of: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        hits, misses = count * per_child, np.maximum(of - count, 0) * per_child
        return np.where(of > 0, rng.beta(hits + 0.5, misses + 0.5), np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "fpr": rate(fp, neg),
            "fnr": rate(pos - tp, pos),
            "precision": rate(tp, flagged),
            "calibration": np.where(pos > 0, (prob / n) / rate(pos, n), np.nan),
        }


@dataclass(frozen=True)
class _Counts:
    """One attribute's groups: their sums, metrics on the data and in every resample, and
    which group is the reference."""

    sums: npt.NDArray[np.float64]
    point: dict[str, npt.NDArray[np.float64]]
    drawn: dict[str, npt.NDArray[np.float64]]
    ref: int

    @property
    def tail(self) -> float:
        """Each side's share outside an interval: the 95% shared among the attribute's
        comparisons (Bonferroni), so that a fair model's table of 16 districts does not
        show a disparity by chance more often than one time in twenty."""
        return (1 - CONFIDENCE) / 2 / max(len(self.sums) - 1, 1)


def _group(
    attribute: str,
    name: str,
    reference: str,
    index: int,
    counts: _Counts,
    tolerance: tuple[float, float],
    min_count: int,
) -> ModelGroup:
    sums, ref = counts.sums, counts.ref
    too_few = sums[index, 0] < min_count or sums[ref, 0] < min_count
    judged = []
    for metric in JUDGED:
        value, spread = counts.point[metric][index], counts.drawn[metric][:, index]
        if metric == "calibration":  # judged against the group's own observed rate
            ratio, ratios = value, spread
        else:
            base = counts.point[metric][ref]
            ratio = value / base if base else math.nan
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = spread / counts.drawn[metric][:, ref]
        low, high = _interval(spread, counts.tail)
        ratio_low, ratio_high = _interval(ratios, counts.tail)
        judgement = _judgement(ratio, ratio_low, ratio_high, too_few, tolerance)
        judged.append(
            Judged(
                metric, _plain(value), low, high, _plain(ratio), ratio_low, ratio_high, judgement
            )
        )
    n = sums[index]
    return ModelGroup(
        attribute, name, reference, int(n[0]), int(n[2]), float(n[3] / n[0]), float(n[7] / n[0]),
        tuple(judged),
    )  # fmt: skip


def _plain(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def _interval(values: npt.NDArray[np.float64], tail: float) -> tuple[float | None, float | None]:
    """The central interval of the finite ``values`` leaving ``tail`` on each side."""
    finite = values[np.isfinite(values)]
    if finite.size < len(values) / 2:  # mostly undefined: no interval to speak of
        return None, None
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high)


def _judgement(
    ratio: float, low: float | None, high: float | None, too_few: bool,
    tolerance: tuple[float, float],
) -> str:  # fmt: skip
    if not math.isfinite(ratio) or low is None or high is None:
        return "undefined"
    if too_few:
        return "too few to judge"
    bottom, top = tolerance
    if high < bottom or low > top:
        return "outside tolerance"
    if bottom <= low and high <= top:
        return "within tolerance"
    return "uncertain"
