"""From a model's probabilities to what a caseworker sees: a 1-20 score, a tier, a flag.

- **Score 1-20**: the ventile of the training population's scores (as the Allegheny
  Family Screening Tool shows it): 20 means among the highest 5% of training rows.
- **Tier**: low, moderate, high or urgent, from the lowest score of each tier in the
  flagging policy, never from numbers buried in code.
- **Flag**: a row of at least the policy's tier, within capacity: at most K per district
  per as-of date (a weekly batch in service), or the top p% of the batch; the highest
  probabilities first, ties broken by child_id so the same input always flags the same
  children. Capacity is what keeps a queue from drowning in false alarms.

The capacity rule lives in one place, ``FlaggingPolicy.flags_allowed``: ``flag`` applies
it to each flagging group's size as a polars expression, and the service applies it to a
count read from the store (how many flags a batch's group has left), so the two cannot
drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal, overload

import numpy as np
import numpy.typing as npt
import polars as pl

from features.tomlfile import read_over_defaults


class Tier(StrEnum):
    """A score's tier, lowest first (the policy's cut points on the 1-20 score)."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    URGENT = "urgent"


TIERS: Final = tuple(tier.value for tier in Tier)
TIER_DTYPE: Final = pl.Enum(TIERS)


class FlaggingError(ValueError):
    """A flagging policy that cannot be used, or scores that cannot be ranked."""


@dataclass(frozen=True)
class FlaggingPolicy:
    moderate: int = 11
    high: int = 16
    urgent: int = 19
    flag_from: str = "high"
    capacity: Literal["per_district", "top_percent"] = "per_district"
    per_district: int = 25
    top_percent: float = 5.0

    def __post_init__(self) -> None:
        if not 1 < self.moderate < self.high < self.urgent <= 20:
            raise FlaggingError("tiers: need 1 < moderate < high < urgent <= 20")
        if self.flag_from not in TIERS:
            raise FlaggingError(f"flagging.flag_from: {self.flag_from!r} is not a tier {TIERS}")
        if self.capacity not in ("per_district", "top_percent"):
            raise FlaggingError("flagging.capacity: per_district or top_percent")
        if self.per_district < 0 or not 0 <= self.top_percent <= 100:
            raise FlaggingError("flagging: per_district >= 0 and 0 <= top_percent <= 100")

    @property
    def capacity_rule(self) -> str:
        """The capacity rule in one word, as an acceptance of its effect names it
        (``per_district:25``, ``top_percent:5.0``): a changed rule needs a new acceptance."""
        if self.by_district:
            return f"per_district:{self.per_district}"
        return f"top_percent:{self.top_percent}"

    @property
    def by_district(self) -> bool:
        """Whether a flagging group is one district's batch (per-district capacity) rather
        than the whole batch (top-percent capacity)."""
        return self.capacity == "per_district"

    @overload
    def flags_allowed(self, children: int) -> int: ...

    @overload
    def flags_allowed(self, children: pl.Expr) -> pl.Expr: ...

    def flags_allowed(self, children: int | pl.Expr) -> int | pl.Expr:
        """How many of a flagging group's children may be flagged.

        Parameters
        ----------
        children
            The group's size: a count, or a polars expression of it (``pl.len().over(...)``
            in ``flag``).

        Returns
        -------
        int or polars.Expr
            ``per_district`` for a per-district capacity, else ``floor(children *
            top_percent / 100)``; an int for a count, an expression for an expression.
        """
        if isinstance(children, pl.Expr):
            if self.by_district:
                return pl.lit(self.per_district)
            return (children * self.top_percent / 100).floor()
        if children < 0:
            raise FlaggingError(f"a flagging group of {children} children")
        if self.by_district:
            return self.per_district
        return math.floor(children * self.top_percent / 100)


@dataclass(frozen=True)
class PolicyAcceptance:
    """The record that an agency accepted the flag-rate differences its capacity rule
    makes (``[fairness.policy_accepted]``): which rule (``FlaggingPolicy.capacity_rule``),
    by whom, on which date, and the statement it accepted. Made once, when the policy
    is set; a promotion checks that the rule in force is the one accepted."""

    capacity: str
    by: str
    on: str
    statement: str

    def __post_init__(self) -> None:
        for name in ("capacity", "by", "on", "statement"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise FlaggingError(f"fairness.policy_accepted.{name}: a non-empty string")
        try:
            date.fromisoformat(self.on)
        except ValueError:
            raise FlaggingError("fairness.policy_accepted.on: a YYYY-MM-DD date") from None
        _capacity_key(self.capacity)  # refuses a rule it cannot read

    def covers(self, rule: str) -> bool:
        """Whether this acceptance is of ``rule`` (``FlaggingPolicy.capacity_rule``), read
        as numbers: ``top_percent:5`` covers ``top_percent:5.0``, ``per_district:40`` does
        not cover ``per_district:25``."""
        try:
            return _capacity_key(rule) == _capacity_key(self.capacity)
        except FlaggingError:
            return False


def _capacity_key(rule: str) -> tuple[str, float]:
    """``per_district:K`` (K a whole number) or ``top_percent:P`` (0 to 100) as (kind,
    number), so that two spellings of one rule compare equal."""
    kind, _, number = rule.partition(":")
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    whole = kind == "per_district" and value.is_integer() and value >= 0
    if not (whole or (kind == "top_percent" and 0 <= value <= 100)):
        raise FlaggingError(
            f"fairness.policy_accepted.capacity: per_district:K or top_percent:P, got {rule!r}"
        )
    return kind, value


def acceptance_words(accepted: PolicyAcceptance | None, rule: str, disparities: int) -> str:
    """One sentence for the reports: the capacity rule in force, how many flag-rate
    disparities it makes, and whether (and by whom) its effect was accepted."""
    made = f"The capacity rule {rule} makes {disparities} flag-rate disparity(ies)"
    made += " outside tolerance"
    if accepted is not None and accepted.covers(rule):
        return f"{made}; its effect was accepted by {accepted.by} on {accepted.on}."
    if disparities == 0:
        return f"{made}; nothing to accept."
    if accepted is not None:
        return f"{made}; NOT accepted (the acceptance on record is for {accepted.capacity})."
    return f"{made}; NOT accepted (no [fairness.policy_accepted] in the flagging policy)."


@dataclass(frozen=True)
class GatePolicy:
    """What a challenger must show before it becomes the champion, and the fairness audit."""

    max_auc_drop: float = 0.01
    max_calibration_error: float = 0.01
    attributes: tuple[str, ...] = ("area", "district", "hukou", "sex", "ethnicity", "disability")
    tolerance_low: float = 0.8
    tolerance_high: float = 1.25
    min_count: int = 50
    policy_accepted: PolicyAcceptance | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.max_auc_drop <= 1 or not 0 < self.max_calibration_error <= 1:
            raise FlaggingError("promotion: 0 <= max_auc_drop <= 1, 0 < max_calibration_error <= 1")
        if not 0 < self.tolerance_low <= 1 <= self.tolerance_high:
            raise FlaggingError("fairness: need 0 < tolerance_low <= 1 <= tolerance_high")
        if self.min_count < 1:
            raise FlaggingError("fairness.min_count must be at least 1")

    @property
    def tolerance(self) -> tuple[float, float]:
        return (self.tolerance_low, self.tolerance_high)


def _policy_tables(path: Path | None) -> dict[str, Any]:
    return read_over_defaults("models", "default_flagging.toml", path, FlaggingError)


def load_flagging_policy(path: Path | None = None) -> FlaggingPolicy:
    """Read ``[tiers]`` and ``[flagging]`` over the shipped defaults; errors name the key."""
    raw = _policy_tables(path)
    try:
        return FlaggingPolicy(**raw["tiers"], **raw["flagging"])
    except TypeError as exc:
        raise FlaggingError(f"flagging policy: {exc}") from exc


def load_gate_policy(path: Path | None = None) -> GatePolicy:
    """Read ``[promotion]`` and ``[fairness]`` (with ``[fairness.policy_accepted]``) of the
    same policy file."""
    raw = _policy_tables(path)
    fairness = dict(raw["fairness"])
    if not isinstance(fairness.get("attributes"), list) or not all(
        isinstance(a, str) for a in fairness["attributes"]
    ):
        raise FlaggingError("fairness.attributes: a list of attribute names")
    fairness["attributes"] = tuple(fairness["attributes"])
    accepted = fairness.pop("policy_accepted", None)
    try:
        if accepted is not None:
            if not isinstance(accepted, dict):
                raise FlaggingError(
                    "fairness.policy_accepted: a table (capacity, by, on, statement)"
                )
            on = accepted.get("on")
            given = {**accepted, "on": on.isoformat() if isinstance(on, date) else on}
            fairness["policy_accepted"] = PolicyAcceptance(**given)
        return GatePolicy(**raw["promotion"], **fairness)
    except TypeError as exc:
        raise FlaggingError(f"promotion/fairness policy: {exc}") from exc


@dataclass(frozen=True)
class Ventiles:
    """The 19 cut points between the twenty 5% bands of the training scores."""

    edges: tuple[float, ...]

    @classmethod
    def fit(cls, training_scores: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> Ventiles:
        """Cut points of the training scores; ``weights`` count a row that many times
        (a training set whose negatives were sampled at rate r weighs each by 1/r)."""
        scores = np.asarray(training_scores, dtype=np.float64)
        if scores.size == 0 or not np.isfinite(scores).all():
            raise FlaggingError("ventiles need finite training scores")
        if weights is None:
            edges = np.quantile(scores, np.arange(1, 20) / 20, method="linear")
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != scores.shape or not (np.isfinite(w) & (w > 0)).all():
                raise FlaggingError("ventile weights must be positive, one per score")
            edges = np.quantile(scores, np.arange(1, 20) / 20, weights=w, method="inverted_cdf")
        return cls(tuple(float(edge) for edge in edges))

    def score(self, scores: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """1-20: how many cut points a score reaches, plus one."""
        values = np.asarray(scores, dtype=np.float64)
        return (np.searchsorted(np.asarray(self.edges), values, side="right") + 1).astype(np.int8)


def tier_of(score_1_20: pl.Expr, policy: FlaggingPolicy) -> pl.Expr:
    return (
        pl.when(score_1_20 >= policy.urgent)
        .then(pl.lit("urgent"))
        .when(score_1_20 >= policy.high)
        .then(pl.lit("high"))
        .when(score_1_20 >= policy.moderate)
        .then(pl.lit("moderate"))
        .otherwise(pl.lit("low"))
        .cast(TIER_DTYPE)
    )


def flag(
    scored: pl.DataFrame,
    policy: FlaggingPolicy,
    probability: str = "probability",
    district: str = "district",
    batch: str = "as_of",
) -> pl.DataFrame:
    """Add ``tier`` and ``flagged`` to rows holding ``score_1_20`` and a probability."""
    eligible = pl.col("tier") >= pl.lit(policy.flag_from, TIER_DTYPE)
    group = [batch, district] if policy.by_district else [batch]
    rank = pl.struct(pl.col(probability).neg(), pl.col("child_id")).rank("ordinal").over(*group)
    within = rank <= policy.flags_allowed(pl.len().over(*group))
    return scored.with_columns(tier_of(pl.col("score_1_20"), policy).alias("tier")).with_columns(
        (eligible & within).alias("flagged")
    )
