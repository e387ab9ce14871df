"""A fitted model read once into numpy arrays, so that one child is explained in microseconds.

Why: the API scores one child per request. Through scikit-learn and interpret, every
explanation builds a pandas DataFrame, validates it and walks the estimator column by
column, and every design matrix is a polars query: milliseconds for one row, none of it
depending on the row. Done once here, a row costs a few numpy look-ups, with results
equal to ``models.families.raw_terms`` and ``models.design.design_matrix``.

How:

- **bins** (scorecard, EBM): a few rows are binned in one ``searchsorted`` over every
  column's cuts, held in one sorted complex array (real part: the column; imaginary: the
  cut), many rows column by column; a bin counts the cuts at or below the value, as the
  scorecard's ``searchsorted(side="right")`` and interpret's ``Discretize`` do.
- **terms**: ebm, ``term_scores_`` at the bins of ``bins_`` (0: missing (NaN); last:
  unknown category), main effects in one look-up, interactions by their coarser bins;
  scorecard, the same with each column's points times ln 2 / PDO as scores; logistic,
  ``(x - mean) / scale * coef``; baseline, ``coef * log1p(max(x, 0))``. gbm is not
  additive (shap explains it): its terms still come from ``raw_terms``, slowly, as do
  an unknown estimator's; gbm is never promoted unless forced.
- **design** (``CompiledDesign``): one 1-D array per registry feature, encoded by
  ``design_columns``. Numbers and yes/no come as numeric or boolean arrays, a categorical
  as an array of str (object dtype). A null is NaN in a numeric array (None in an object
  array becomes NaN), None in a categorical one: a max_severity's NaN is "none
  recorded"; any other null, or an unknown category, raises the ``DesignError`` of
  ``design_matrix`` (which checks the values then), naming the column. Masked arrays
  are refused: numpy would silently drop their masks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.pipeline import Pipeline

from features.registry import FeatureSpec, Registry
from models.baseline import PriorReportsBaseline
from models.design import Column, DesignError, design_columns, design_matrix
from models.families import as_frame, raw_terms, signed_log1p
from models.scorecard import Scorecard

if TYPE_CHECKING:
    from models.riskmodel import Factor, RiskModel

Float = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]
Term = tuple[int, tuple[int, ...], Float]  # (term, the binnings it reads, its scores)
Terms = Callable[[Float], tuple[Float, float]]  # per-term raw contributions, raw intercept
FEW_ROWS: Final = 64  # up to this many rows, all columns are binned in one search


@dataclass(frozen=True)
class Cuts:
    """``bins[i]`` (a row of bins per binned column) counts ``cuts[i]`` at or below
    ``matrix[:, reads[i]]``; NaN is left to the caller."""

    reads: Index
    keys: npt.NDArray[np.complex128]  # (i, cut), sorted by i, then cut
    starts: Index  # where the cuts of column i start in keys and in cuts
    cuts: Float

    @classmethod
    def of(cls, reads: Sequence[int], cuts: Sequence[Float]) -> Cuts:
        if any(np.any(np.diff(cut) < 0) or np.isnan(cut).any() for cut in cuts):
            raise ValueError("cuts must be sorted numbers")
        flat = np.concatenate(cuts).astype(np.float64) if cuts else np.zeros(0)
        keys = np.empty(len(flat), np.complex128)
        keys.real, keys.imag = np.repeat(np.arange(len(cuts)), [len(c) for c in cuts]), flat
        starts = np.cumsum([0, *(len(cut) for cut in cuts)], dtype=np.intp)[:-1]
        return cls(np.asarray(reads, np.intp), keys, starts, flat)

    def __call__(self, matrix: Float) -> Index:
        if matrix.shape[0] > FEW_ROWS:
            bins = np.empty((len(self.reads), matrix.shape[0]), dtype=np.intp)
            ends = [*self.starts[1:], len(self.cuts)]
            for i, (column, a, b) in enumerate(zip(self.reads, self.starts, ends, strict=True)):
                bins[i] = np.searchsorted(self.cuts[a:b], matrix[:, column], side="right")
            return bins
        query = np.empty((len(self.reads), matrix.shape[0]), np.complex128)
        query.real = np.arange(len(self.reads))[:, None]  # set, not 1j * inf (nan)
        query.imag = matrix[:, self.reads].T
        found: Index = np.searchsorted(self.keys, query, side="right")
        return found - self.starts[:, None]


@dataclass(frozen=True)
class Nominal:
    """An EBM categorical binning: interpret looks a value up by its text (``1.0`` as
    ``1``), here by the number that prints as that text. Gives the bin minus 1."""

    read: int
    keys: Float  # sorted, NaN last (never equal)
    codes: Index  # each key's bin; NaN's: unknown

    @classmethod
    def of(cls, read: int, categories: Mapping[str, int], size: int) -> Nominal:
        texts = list(categories)
        numbers = np.array([_number(text) for text in texts], dtype=np.float64)
        printed = (numbers + 0.0).astype(np.str_)  # interpret's text of a float64 value
        wholes = np.strings.endswith(printed, ".0")
        printed[wholes] = np.strings.rstrip(np.strings.rstrip(printed[wholes], "0"), ".")
        pairs = zip(numbers, texts, printed, strict=True)
        known = sorted((n, categories[t]) for n, t, p in pairs if p == t != "nan")
        keys, codes = zip(*known, (math.nan, size - 1), strict=True)
        return cls(read, np.array(keys, np.float64), np.array(codes, np.intp))

    def __call__(self, matrix: Float) -> Index:
        column = matrix[:, self.read]
        at = np.searchsorted(self.keys, column).clip(max=len(self.keys) - 1)
        bins: Index = np.where(self.keys[at] == column, self.codes[at], self.codes[-1])
        return np.where(np.isnan(column), 0, bins) - 1


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan  # no float64 value prints as this text: it is never matched


@dataclass(frozen=True)
class BinnedTerms:
    """interpret's ``eval_terms``: each term's scores at its features' bins (0 missing,
    then the bins, last unknown). ``bins`` hold the bin minus 1: the cuts at or below."""

    cuts: Cuts  # the continuous binnings, then
    nominal: tuple[Nominal, ...]  # the categorical ones
    main_terms: Index  # the one-feature terms, the binning each reads, and where its
    main_bins: Index  # scores start in main_scores, plus 1
    main_offsets: Index
    main_scores: Float
    each: tuple[Term, ...]  # every term
    joint: tuple[Term, ...]  # the interactions
    intercept: float
    finite: bool = False  # refuse NaN and infinity, as scikit-learn's validation does

    def __call__(self, matrix: Float) -> tuple[Float, float]:
        if self.finite and not np.isfinite(matrix).all():
            raise ValueError("Input X contains NaN or infinity")
        bins = self.cuts(matrix)
        if np.isnan(matrix).any():
            bins[np.isnan(matrix[:, self.cuts.reads].T)] = -1
        if self.nominal:
            bins = np.vstack([bins, *(nominal(matrix) for nominal in self.nominal)])
        terms = np.empty((len(self.each), matrix.shape[0]))
        one_by_one = self.each  # many rows: no (terms x rows) temporaries
        if matrix.shape[0] <= FEW_ROWS:  # few: every main effect in one look-up
            at = bins[self.main_bins] + self.main_offsets[:, None]
            terms[self.main_terms], one_by_one = self.main_scores[at], self.joint
        for term, binnings, scores in one_by_one:
            terms[term] = scores[tuple(bins[b] + 1 for b in binnings)]
        return terms.T, self.intercept


def binned_terms(
    levels: Sequence[Any], each: Sequence[Term], intercept: float, finite: bool = False
) -> BinnedTerms:
    """Terms of binnings ``levels``, each ``(feature, cuts or {text: bin})``."""
    continuous = [i for i, (_, level) in enumerate(levels) if not isinstance(level, dict)]
    nominal = [i for i, (_, level) in enumerate(levels) if isinstance(level, dict)]
    row = {binning: i for i, binning in enumerate(continuous + nominal)}
    each = [(t, tuple(row[b] for b in binnings), scores) for t, binnings, scores in each]
    size = {b: scores.shape[k] for _, bs, scores in each for k, b in enumerate(bs)}
    mains = [term for term in each if len(term[1]) == 1]
    return BinnedTerms(
        cuts=Cuts.of([levels[i][0] for i in continuous], [levels[i][1] for i in continuous]),
        nominal=tuple(Nominal.of(levels[i][0], levels[i][1], size[row[i]]) for i in nominal),
        main_terms=np.array([t for t, _, _ in mains], np.intp),
        main_bins=np.array([b[0] for _, b, _ in mains], np.intp),
        main_offsets=np.cumsum([1, *(len(s) for _, _, s in mains[:-1])], dtype=np.intp),
        main_scores=np.concatenate([s for _, _, s in mains]) if mains else np.zeros(0),
        each=tuple(each),
        joint=tuple(term for term in each if len(term[1]) > 1),
        intercept=intercept,
        finite=finite,
    )


def boosting_terms(ebm: Any) -> BinnedTerms | None:
    """The terms of a fitted binary ExplainableBoostingClassifier; None for another shape."""
    scores = [np.asarray(s, dtype=np.float64) for s in ebm.term_scores_]
    features = [tuple(int(f) for f in term) for term in ebm.term_features_]
    if np.shape(ebm.intercept_) != (1,) or [s.ndim for s in scores] != list(map(len, features)):
        return None  # not a binary classifier
    levels: dict[tuple[int, int], int] = {}  # (feature, level) -> binning
    each = []
    for t, term in enumerate(features):  # a term of k features reads level k, or the last
        keys = [(f, min(len(ebm.bins_[f]), len(term)) - 1) for f in term]
        each.append((t, tuple(levels.setdefault(key, len(levels)) for key in keys), scores[t]))
    binnings = [(f, ebm.bins_[f][level]) for f, level in levels]
    return binned_terms(binnings, each, float(np.ravel(ebm.intercept_)[0]))


@dataclass(frozen=True)
class LinearTerms:
    """The logistic family: standardised (first signed-log, when ``log``) values times the
    coefficients."""

    mean: Float
    scale: Float
    coef: Float
    intercept: float
    log: bool = False

    def __call__(self, matrix: Float) -> tuple[Float, float]:
        values = signed_log1p(matrix) if self.log else matrix
        return (values - self.mean) / self.scale * self.coef, self.intercept


@dataclass(frozen=True)
class BaselineTerms:
    """``PriorReportsBaseline.contributions``: ``coef * log1p(max(x, 0))`` in one column."""

    column: int
    coef: float
    intercept: float

    def __call__(self, matrix: Float) -> tuple[Float, float]:
        if not np.isfinite(matrix).all():
            raise ValueError("Input X contains NaN or infinity")
        terms = np.zeros(matrix.shape, dtype=np.float64)
        terms[:, self.column] = self.coef * np.log1p(np.maximum(matrix[:, self.column], 0.0))
        return terms, self.intercept


@dataclass(frozen=True)
class LibraryTerms:
    """``raw_terms`` itself: gbm (shap), or an estimator this module does not know."""

    pipeline: Pipeline
    family: str
    names: tuple[str, ...]

    def __call__(self, matrix: Float) -> tuple[Float, float]:
        return raw_terms(self.pipeline, self.family, as_frame(matrix, self.names))


def compile_terms(pipeline: Pipeline, family: str, names: Sequence[str]) -> Terms:
    """The numpy form of ``raw_terms(pipeline, family, ·)`` for a fitted pipeline."""
    last = pipeline[-1]
    if family == "scorecard" and isinstance(last, Scorecard):
        scale = math.log(2.0) / float(last.points_to_double_odds)
        tables = [np.hstack([0.0, p.astype(np.float64) * scale, 0.0]) for p in last.points_]
        levels = list(enumerate(last.bin_edges_))  # no missing nor unknown value: 0.0
        each = [(j, (j,), table) for j, table in enumerate(tables)]
        return binned_terms(levels, each, float(last.contribution_intercept_), finite=True)
    if family == "logistic":
        scaler = pipeline.named_steps["scale"]
        log = "log" in pipeline.named_steps
        return LinearTerms(
            scaler.mean_, scaler.scale_, last.coef_[0], float(last.intercept_[0]), log
        )
    if family == "baseline" and isinstance(last, PriorReportsBaseline):
        return BaselineTerms(last.column_index_, last.coef_, float(last.contribution_intercept_))
    boosting = boosting_terms(last) if family == "ebm" else None
    return boosting or LibraryTerms(pipeline, family, tuple(names))


@dataclass(frozen=True)
class CompiledDesign:
    """``design_matrix`` from one 1-D array per registry feature (module docstring), by
    ``models.design``'s rules on ``design_columns``: a category column is ``value ==
    category``; an absent indicator, whether the value is null; any other column is the
    value as a float, a max_severity's null as 0. Only a max_severity may be null."""

    columns: tuple[Column, ...]
    specs: tuple[FeatureSpec, ...]  # registry order: the order problems are reported in
    numbers: tuple[str, ...]  # features read as numbers, whether each may be null, and
    nullable: npt.NDArray[np.bool_]  # its value column
    value_columns: Index
    absent_columns: Index  # absent indicators, and the number (index in numbers) of each
    absent_of: Index
    labels: tuple[str, ...]  # categorical features
    categories: npt.NDArray[np.object_]  # each category column's category, its column and
    category_columns: Index  # its feature (index in labels)
    category_of: Index

    def matrix(self, values: Mapping[str, Any]) -> Float:
        """The design matrix (rows of ``values``' arrays, columns ``self.columns``)."""
        try:
            numbers = [values[name] for name in self.numbers]
            labels = [values[name] for name in self.labels]
            if any(issubclass(k, np.ma.MaskedArray) for k in set(map(type, numbers + labels))):
                raise TypeError("masked")
            block = np.array(numbers, dtype=np.float64)  # (numbers, rows)
        except (KeyError, TypeError, ValueError):
            raise self.problem(values) from None
        null, rows = np.isnan(block), block.shape[-1]
        if block.ndim != 2 or any(np.shape(label) != (rows,) for label in labels):
            raise self.problem(values)
        text = np.array(labels, dtype=object).reshape(len(labels), rows)
        hits = text[self.category_of] == self.categories[:, None]  # (categories, rows)
        if null[~self.nullable].any() or (hits.sum(axis=0) != len(labels)).any():
            raise self.problem(values)
        out = np.empty((rows, len(self.columns)), dtype=np.float64)
        out[:, self.value_columns] = np.where(null, 0.0, block).T
        out[:, self.absent_columns] = null[self.absent_of].T
        out[:, self.category_columns] = hits.T
        return out

    def problem(self, values: Mapping[str, Any]) -> DesignError:
        """The error ``design_matrix`` itself raises on these values (NaN: null)."""
        masked = [name for name, v in values.items() if isinstance(v, np.ma.MaskedArray)]
        if masked:
            return DesignError(f"{masked[0]}: a masked array; mark nulls with NaN or None")
        given = [spec.name for spec in self.specs if spec.name in values]
        try:
            series = [pl.Series(name, np.asarray(values[name]), nan_to_null=True) for name in given]
            design_matrix(pl.DataFrame(series), Registry(self.specs))
        except DesignError as error:
            return error
        except Exception as error:  # any other refusal (a ragged array, text as a number)
            return DesignError(f"the values do not fit the registry: {error}")
        return DesignError("the values do not fit the registry")  # pragma: no cover


def compile_design(registry: Registry) -> CompiledDesign:
    """The numpy design builder of ``registry``, from ``design_columns(registry)``."""
    columns = design_columns(registry)
    kinds = {spec.name: spec.kind for spec in registry.specs}
    numbers = {
        c.feature: j for j, c in enumerate(columns) if c.category is None and not c.absent_indicator
    }
    absent = {j: c.feature for j, c in enumerate(columns) if c.absent_indicator}
    category = {j: c for j, c in enumerate(columns) if c.category is not None}
    labels = list(dict.fromkeys(c.feature for c in category.values()))
    return CompiledDesign(
        columns=tuple(columns),
        specs=registry.specs,
        numbers=tuple(numbers),
        nullable=np.array([kinds[name] == "max_severity" for name in numbers], dtype=bool),
        value_columns=np.array(list(numbers.values()), dtype=np.intp),
        absent_columns=np.array(list(absent), dtype=np.intp),
        absent_of=np.array([list(numbers).index(name) for name in absent.values()], np.intp),
        labels=tuple(labels),
        categories=np.array([c.category for c in category.values()], dtype=object),
        category_columns=np.array(list(category), dtype=np.intp),
        category_of=np.array([labels.index(c.feature) for c in category.values()], np.intp),
    )


@dataclass(frozen=True)
class CompiledModel:
    """A fitted ``RiskModel``'s explanation and design matrix in plain numpy. It depends
    on the model's pipeline, columns and registry; ``RiskModel.explain`` applies the
    calibration and the points scale."""

    family: str
    n_columns: int
    terms_of: Terms
    factors: tuple[Factor, ...]
    summing: Float  # (terms x factors) 0/1: terms @ summing are the factors' contributions
    design: CompiledDesign

    def factor_sums(self, terms: Float) -> Float:
        """Each factor's contribution: its terms added in term order, one term at a time
        for every row at once, so a row sums alike alone or in a batch (a matrix product
        may add in another order for another number of rows: not bit for bit)."""
        summed = np.zeros((terms.shape[0], len(self.factors)))
        for layer in self._members:
            taking = layer >= 0
            summed[:, taking] += terms[:, layer[taking]]
        return summed

    @cached_property
    def _members(self) -> list[Index]:
        """Layer k: each factor's k-th term (-1 past its last)."""
        owner = np.argmax(self.summing, axis=1)
        members = [np.flatnonzero(owner == f) for f in range(len(self.factors))]
        depth = max((m.size for m in members), default=0)
        return [
            np.array([m[k] if k < m.size else -1 for m in members], dtype=np.intp)
            for k in range(depth)
        ]

    def terms(self, matrix: npt.ArrayLike) -> tuple[Float, float]:
        """Per-term raw contributions (rows x terms) and the raw intercept, equal to
        ``raw_terms(pipeline, family, as_frame(matrix, names))``."""
        values = np.asarray(matrix, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_columns:
            raise ValueError(f"a matrix of {self.n_columns} columns expected, got {values.shape}")
        return self.terms_of(values)


def compile_model(model: RiskModel) -> CompiledModel:
    """Read a fitted ``RiskModel`` once into its numpy form (``RiskModel.compiled``)."""
    names = [column.name for column in model.columns]
    factors, summing = model.factors()
    terms = compile_terms(model.pipeline, model.family, names)
    design = compile_design(model.registry)
    return CompiledModel(model.family, len(names), terms, factors, summing, design)
