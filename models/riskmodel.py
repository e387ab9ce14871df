"""A fitted risk model: pipeline, calibration, 1-20 ventiles and exact explanations.

What a caseworker is shown is a **calibrated rate of the recorded outcome** (among
children whose records looked like this one's in the past, how often the outcome was
recorded within the horizon), not a probability of harm.

Calibration is Platt scaling fitted on a block of as-of dates later than training:
calibrated log-odds = ``slope * raw + offset``. It is affine in the model's log-odds, so an
additive model stays additive after calibration and its explanation stays exact:

- **log-odds contributions**: ``slope * term`` per factor, plus the intercept
  ``slope * raw_intercept + offset``; they sum to the calibrated log-odds (to 1e-9);
- **points**: the raw model's log-odds in scorecard points (``points_to_double_odds``
  points double the odds, 20 by default); for the scorecard they are its integer points.

A factor is a registry feature (the sum of its design columns' terms, so a categorical or
a severity with its "none recorded" indicator is one factor), or for an EBM interaction
the pair of features it joins.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from features.config import FeatureConfig, Policy
from features.registry import FeatureSpec, Registry
from models.compiled import CompiledModel, compile_model
from models.design import Column, design_matrix
from models.drift import Reference
from models.families import as_frame, term_columns
from models.flagging import FlaggingPolicy, Ventiles, flag

Float = npt.NDArray[np.float64]
TOP_FACTORS: Final = 5
CHUNK_ROWS: Final = 100_000
DEFAULT_PDO: Final = 20.0


class CalibrationError(ValueError):
    """Calibration data that cannot fit a calibration; says why."""


@dataclass(frozen=True)
class Platt:
    """Calibrated log-odds = slope * raw log-odds + offset."""

    slope: float
    offset: float

    @classmethod
    def fit(cls, raw_log_odds: Float, y: npt.NDArray[Any]) -> Platt:
        labels = np.asarray(y)
        if labels.size == 0 or np.unique(labels).size < 2:
            raise CalibrationError("the calibration block needs both outcomes recorded")
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(raw_log_odds.reshape(-1, 1), labels)
        return cls(float(fit.coef_[0, 0]), float(fit.intercept_[0]))

    def __call__(self, raw: Float) -> Float:
        return self.slope * raw + self.offset


@dataclass(frozen=True)
class Factor:
    """A factor of an explanation: one feature, or the features an interaction joins."""

    features: tuple[str, ...]

    @property
    def name(self) -> str:
        return " & ".join(self.features)


@dataclass(frozen=True)
class Explanation:
    """Exact additive explanation of rows: ``log_odds.sum(1) + intercept`` is the
    calibrated log-odds; ``points.sum(1) + base_points`` is the raw log-odds in points."""

    factors: tuple[Factor, ...]
    log_odds: Float  # (rows, factors)
    intercept: float
    points: Float  # (rows, factors)
    base_points: float


@dataclass
class RiskModel:
    """Everything needed to score a feature table and explain each score."""

    family: str
    pipeline: Pipeline
    columns: list[Column]
    specs: tuple[FeatureSpec, ...]
    label: str
    horizon_days: int
    platt: Platt
    ventiles: Ventiles
    config: FeatureConfig = field(default_factory=FeatureConfig)
    policy: Policy = field(default_factory=Policy)
    points_to_double_odds: float = DEFAULT_PDO
    provenance: dict[str, Any] = field(default_factory=dict)
    # the training population's feature distributions (models.drift); None in a model
    # trained before drift was watched
    reference: Reference | None = None

    # ---- numbers --------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        return Registry(self.specs)

    @cached_property
    def compiled(self) -> CompiledModel:
        """The model's numpy form (models.compiled), built on first use; never pickled."""
        return compile_model(self)

    def __getstate__(self) -> dict[str, Any]:
        # the compiled form is rebuilt after loading: a pickle holds only the model
        state = dict(self.__dict__)
        state.pop("compiled", None)
        return state

    def matrix(self, frame: pl.DataFrame) -> Float:
        """The design matrix of a feature table. Batches stay on polars: ``matrix_of`` on
        its columns is no faster for 100k rows (measured), and reads NaN as a null."""
        matrix, _ = design_matrix(frame, self.registry)
        return matrix.astype(np.float64, copy=False)

    def matrix_of(self, values: Mapping[str, Any]) -> Float:
        """The design matrix of ``values``, one 1-D numpy array per registry feature, as
        ``matrix`` gives for a table of those columns (nulls and categories: models.compiled)."""
        return self.compiled.design.matrix(values)

    def frame(self, matrix: Float) -> pd.DataFrame:
        return as_frame(matrix, [column.name for column in self.columns])

    def raw_log_odds(self, matrix: Float) -> Float:
        decision = self.pipeline.decision_function(self.frame(matrix))
        return np.asarray(decision, dtype=np.float64)

    def log_odds(self, matrix: Float) -> Float:
        return self.platt(self.raw_log_odds(matrix))

    def probability(self, matrix: Float) -> Float:
        return 1.0 / (1.0 + np.exp(-self.log_odds(matrix)))

    @staticmethod
    def rates(explanation: Explanation) -> Float:
        """The calibrated rate of each explained row: the one formula of both a batch and a
        single request, so that they agree bit for bit."""
        log_odds = explanation.log_odds.sum(axis=1) + explanation.intercept
        rate: Float = 1.0 / (1.0 + np.exp(-log_odds))
        return rate

    # ---- explanations ---------------------------------------------------------------

    def factors(self) -> tuple[tuple[Factor, ...], Float]:
        """The factors and the (terms x factors) 0/1 matrix that sums terms into them."""
        terms = term_columns(self.pipeline, self.family, len(self.columns))
        factors: list[Factor] = []
        index: dict[Factor, int] = {}
        rows = []
        for term in terms:
            features = tuple(dict.fromkeys(self.columns[j].feature for j in term))
            factor = Factor(features)
            if factor not in index:
                index[factor] = len(factors)
                factors.append(factor)
            rows.append(index[factor])
        summing = np.zeros((len(terms), len(factors)))
        summing[np.arange(len(terms)), rows] = 1.0
        return tuple(factors), summing

    def explain(self, matrix: Float) -> Explanation:
        """The exact explanation of each row, from the compiled terms (models.compiled:
        numpy look-ups for every family but gbm, which shap explains)."""
        if matrix.shape[0] == 0:  # scikit-learn refuses no rows; the intercept needs none
            one = self.explain(np.zeros((1, matrix.shape[1])))
            return replace(one, log_odds=one.log_odds[:0], points=one.points[:0])
        compiled = self.compiled
        terms, raw_intercept = compiled.terms(matrix)
        factors, raw = compiled.factors, compiled.factor_sums(terms)
        to_points = self.points_to_double_odds / math.log(2)
        return Explanation(
            factors=factors,
            log_odds=self.platt.slope * raw,
            intercept=self.platt.slope * raw_intercept + self.platt.offset,
            points=raw * to_points,
            base_points=raw_intercept * to_points,
        )

    # ---- scoring --------------------------------------------------------------------

    def score(
        self,
        frame: pl.DataFrame,
        policy: FlaggingPolicy,
        top: int = TOP_FACTORS,
        keys: tuple[str, ...] = ("child_id", "as_of", "district"),
    ) -> pl.DataFrame:
        """Probability, 1-20 score, tier, flag and the top factors of every row."""
        return flag(self.explained(frame, top, keys), policy)

    def explained(
        self,
        frame: pl.DataFrame,
        top: int = TOP_FACTORS,
        keys: tuple[str, ...] = ("child_id", "as_of", "district"),
    ) -> pl.DataFrame:
        """Probability, 1-20 score and the top factors of every row, before flagging (which
        ranks a whole batch: models.flagging.flag)."""
        parts = [self._score_chunk(chunk, top, keys) for chunk in _chunks(frame)]
        return pl.concat(parts) if parts else self._score_chunk(frame, top, keys)

    def _score_chunk(self, frame: pl.DataFrame, top: int, keys: tuple[str, ...]) -> pl.DataFrame:
        matrix = self.matrix(frame)
        explanation = self.explain(matrix)
        probability = self.rates(explanation)
        out = frame.select(keys).with_columns(
            pl.Series("probability", probability),
            pl.Series("score_1_20", self.ventiles.score(probability)),
        )
        names = np.array([factor.name for factor in explanation.factors], dtype=object)
        k = min(top, len(names))
        order = np.argsort(-np.abs(explanation.log_odds), axis=1, kind="stable")[:, :k]
        rows = np.arange(len(frame))[:, None]
        top_log_odds = explanation.log_odds[rows, order]
        top_points = explanation.points[rows, order]
        columns = []
        for i in range(k):
            columns += [
                pl.Series(f"factor_{i + 1}", names[order[:, i]].tolist(), pl.String),
                pl.Series(f"factor_{i + 1}_log_odds", top_log_odds[:, i]),
                pl.Series(f"factor_{i + 1}_points", top_points[:, i]),
            ]
        return out.with_columns(columns)


def _chunks(frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
    for start in range(0, frame.height, CHUNK_ROWS):
        yield frame.slice(start, CHUNK_ROWS)
