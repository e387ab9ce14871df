"""Feature drift (issue 22, point 1): the PSI of each feature against the training
population, counted shard by shard: a batch of the same population is stable, a shifted
feature and a category training never saw are named first, weights count sampled
negatives as the population they stand for, and a trained model carries its reference."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.drift import Reference, Tally, drift, psi


def _population(rng: np.random.Generator, n: int, shift: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "reports": rng.poisson(1.5 + shift, n),
            "amount": rng.gamma(2.0, 300.0, n),
            "__missing": rng.random(n) < 0.2,
            "hukou": rng.choice(["local", "nonlocal", "none"], n, p=[0.6, 0.35, 0.05]),
            "left_behind": rng.random(n) < 0.1,
        },
        schema_overrides={"hukou": pl.Enum(["local", "nonlocal", "none", "unknown"])},
    ).with_columns(
        pl.when(pl.col("__missing")).then(None).otherwise(pl.col("amount")).alias("amount")
    )


NAMES = ("reports", "amount", "hukou", "left_behind")


def _tally(reference: Reference, frame: pl.DataFrame, shards: int = 1) -> Tally:
    tally = Tally(reference)
    for part in np.array_split(np.arange(frame.height), shards):
        tally.add(frame[part])
    return tally


def test_the_same_population_is_stable() -> None:
    rng = np.random.default_rng(1)
    reference = Reference.of(_population(rng, 20_000), NAMES, None)
    found = drift(_tally(reference, _population(rng, 5_000)))
    assert [d.feature for d in found] != []
    assert all(d.psi < 0.02 for d in found), found


def test_a_shifted_feature_and_an_unseen_category_are_named_first() -> None:
    rng = np.random.default_rng(2)
    reference = Reference.of(_population(rng, 20_000), NAMES, None)
    shifted = _population(rng, 5_000, shift=2.0)
    found = drift(_tally(reference, shifted, shards=3))
    assert found[0].feature == "reports"
    assert found[0].psi > 0.25
    assert all(d.psi < 0.02 for d in found[1:])
    unseen = _population(rng, 5_000).with_columns(
        pl.when(pl.int_range(pl.len()) % 4 == 0)
        .then(pl.lit("unknown"))
        .otherwise(pl.col("hukou"))
        .cast(pl.Enum(["local", "nonlocal", "none", "unknown"]))
        .alias("hukou")
    )
    assert drift(_tally(reference, unseen))[0].feature == "hukou"


def test_shard_by_shard_equals_whole() -> None:
    rng = np.random.default_rng(3)
    reference = Reference.of(_population(rng, 2_000), NAMES, None)
    batch = _population(rng, 1_000, shift=0.5)
    whole, sharded = _tally(reference, batch), _tally(reference, batch, shards=7)
    for name in NAMES:
        assert np.array_equal(whole.counts[name], sharded.counts[name])
    assert whole.rows == sharded.rows == 1_000


def test_weights_count_sampled_negatives_as_the_population() -> None:
    """Training keeps every positive and a tenth of the negatives; weighted, the
    reference is the population's, and the unsampled population is stable against it."""
    rng = np.random.default_rng(4)
    population = _population(rng, 40_000).with_columns((pl.col("reports") >= 4).alias("positive"))
    kept = population.filter(pl.col("positive") | (pl.int_range(pl.len()) % 10 == 0))
    weights = np.where(kept["positive"].to_numpy(), 1.0, 10.0)
    weighted = Reference.of(kept, NAMES, weights)
    unweighted = Reference.of(kept, NAMES, None)
    sample = population.sample(8_000, seed=5)
    assert drift(_tally(weighted, sample))[0].psi < 0.02
    assert drift(_tally(unweighted, sample))[0].psi > 0.05


def test_psi_is_zero_on_equal_shares_and_grows_with_the_move() -> None:
    shares = (0.25, 0.25, 0.5)
    assert psi(shares, np.array([25.0, 25.0, 50.0])) == pytest.approx(0.0)
    assert psi(shares, np.array([30.0, 25.0, 45.0])) < psi(shares, np.array([50.0, 25.0, 25.0]))
    assert psi(shares, np.zeros(3)) == 0.0  # nothing counted: nothing to judge
