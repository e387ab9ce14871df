"""Feature drift: is the population a batch scores the population the model learned on?

Why: a model is only as calibrated as the world it was trained on is stable. When a
feature's distribution moves (a source changes how it records, a policy changes who is
served, a computed input goes wrong), the scores move with it, and nothing says so. The
population stability index (PSI) of each feature against the training population names
the features that moved, the most first.

How: at training, each feature's training values are cut into bins (numbers: at most
``BINS`` quantile bins of the training values; yes/no and categories: one bin each; not
recorded: a bin of its own), and the share of the training population in each bin is
kept with the model (``Reference``, weighted as the ventiles are, so sampled negatives
count as the population they stand for). A batch counts its rows into the same bins,
shard by shard (``Tally``), and ``psi`` compares the shares (the 1-20 scores too, against
the training population's own shares of each score):
PSI = sum over bins of (batch share - training share) x ln(batch share / training share),
each share floored at ``FLOOR`` so an empty bin is not infinite (a category training
never saw has a training share of nothing, so it shows). By the usual reading,
under 0.1 is stable, 0.1 to 0.25 a moderate shift, above 0.25 a major one; the monitoring
policy (models.monitoring) says which counts as a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from features.kernel import Float

BINS: Final = 10
SCORES: Final = 20
FLOOR: Final = 1e-4


@dataclass(frozen=True)
class Binned:
    """One feature's bins and the training population's share in each: numbers by upper
    ``edges`` (and a last bin above them), or ``categories`` (and a bin for a category
    training never saw); the last bin is the null bin."""

    feature: str
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] | None = None
    shares: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        inner = len(self.edges) + 1 if self.categories is None else len(self.categories) + 1
        return inner + 1

    def index(self, values: pl.Series) -> npt.NDArray[np.int64]:
        """Each value's bin."""
        nulls = values.is_null().to_numpy()
        if self.categories is None:
            numbers = values.cast(pl.Float64).fill_null(0.0).to_numpy()
            found = np.searchsorted(np.array(self.edges), numbers, side="left")
        else:
            codes = values.cast(pl.String).replace_strict(
                list(self.categories),
                list(range(len(self.categories))),
                default=len(self.categories),  # a category training never saw
                return_dtype=pl.Int64,
            )
            found = codes.fill_null(0).to_numpy()
        return np.where(nulls, self.size - 1, found).astype(np.int64)

    def counts(self, values: pl.Series, weights: Float | None = None) -> Float:
        """How many of ``values`` (weighted by ``weights``) fall in each bin."""
        return np.bincount(self.index(values), weights=weights, minlength=self.size).astype(
            np.float64
        )


@dataclass(frozen=True)
class Reference:
    """The training population's distribution of every feature, by feature name, and of
    its 1-20 scores (the share at each score: not 5% each where many children tie)."""

    features: Mapping[str, Binned] = field(default_factory=dict)
    scores: tuple[float, ...] = ()

    @classmethod
    def of(
        cls,
        frame: pl.DataFrame,
        names: Iterable[str],
        weights: Float | None,
        scores: npt.ArrayLike = (),
    ) -> Reference:
        """The bins of ``names`` over the training rows ``frame`` and the shares of their
        1-20 ``scores`` (``weights``: each row's weight in the population, None for all
        ones)."""
        counted = np.bincount(np.asarray(scores, dtype=np.int64), weights, minlength=SCORES + 1)
        shares = counted[1:] / (counted[1:].sum() or 1.0)
        features = {name: _binned(name, frame[name], weights) for name in names}
        return cls(features, tuple(shares.tolist()) if counted.sum() else ())


def _binned(name: str, values: pl.Series, weights: Float | None) -> Binned:
    present = values.drop_nulls()
    if values.dtype.is_numeric():
        numbers = present.cast(pl.Float64).to_numpy()
        cuts = np.quantile(numbers, np.linspace(0, 1, BINS + 1)[1:-1]) if numbers.size else []
        bins = Binned(name, edges=tuple(sorted({float(q) for q in cuts})))
    else:
        categories = present.cast(pl.String).unique().sort().to_list()
        bins = Binned(name, categories=tuple(categories))
    counts = bins.counts(values, weights)
    return Binned(
        name, bins.edges, bins.categories, tuple((counts / (counts.sum() or 1.0)).tolist())
    )


@dataclass
class Tally:
    """A batch's counts in a reference's bins, added shard by shard."""

    reference: Reference
    counts: dict[str, Float] = field(default_factory=dict)
    rows: int = 0

    def add(self, frame: pl.DataFrame) -> None:
        for name, binned in self.reference.features.items():
            if name in frame.columns:
                found = binned.counts(frame[name])
                self.counts[name] = self.counts.get(name, 0) + found
        self.rows += frame.height


@dataclass(frozen=True)
class Drift:
    """One feature's PSI against the training population."""

    feature: str
    psi: float


def psi(expected: Iterable[float], counts: Float) -> float:
    """The population stability index of ``counts`` against the shares ``expected``."""
    reference = np.maximum(np.array(list(expected), dtype=np.float64), FLOOR)
    total = counts.sum()
    if total == 0:
        return 0.0
    actual = np.maximum(counts / total, FLOOR)
    return float(np.sum((actual - reference) * np.log(actual / reference)))


def drift(tally: Tally) -> list[Drift]:
    """Every feature's PSI, the largest first."""
    found = [
        Drift(name, psi(tally.reference.features[name].shares, counts))
        for name, counts in tally.counts.items()
    ]
    return sorted(found, key=lambda d: (-d.psi, d.feature))
