"""Synth's contract 1.1 support: emitted, valid, tied to the latent state, and drawn from
a stream of its own so every event of contract 1 is as it was."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from features import schema as s
from features.contract import load_case_histories
from features.synth.arrays import DETAIL_CODE, TYPE_CODE, WEEK, TimeGrid
from features.synth.chunk import registered_matrix, simulate_chunk
from features.synth.config import SynthConfig
from features.synth.generator import generate
from features.synth.params import SUPPORT_YUAN, SynthParams

NEW = ("social_aid.employment_support", "social_aid.housing_support", "philanthropy.aid")


def test_support_leaves_every_contract_1_event_as_it_was() -> None:
    config = SynthConfig(children=2000, seed=11, workers=1)
    without = replace(config, params=replace(SynthParams(), support_kinds=()))
    full, bare = simulate_chunk(config, 0).events, simulate_chunk(without, 0).events
    old = ~np.isin(full.etype, [TYPE_CODE[kind] for kind in NEW])
    assert (~old).sum() > 0
    assert not np.isin(bare.etype, [TYPE_CODE[kind] for kind in NEW]).any()
    assert old.sum() == len(bare.etype)
    for name in ("child", "etype", "occurred", "recorded", "severity", "detail"):
        assert np.array_equal(getattr(full, name)[old], getattr(bare, name)), name
    assert np.array_equal(full.amount[old], bare.amount, equal_nan=True)


def test_registered_support_goes_to_children_registered_that_week() -> None:
    config = SynthConfig(children=3000, seed=4, workers=1)
    chunk = simulate_chunk(config, 0, keep_latent=True)
    assert chunk.script is not None
    registered = registered_matrix(
        chunk.population, chunk.script, TimeGrid(config.start, config.end)
    )
    events = chunk.events
    for kind in config.params.support_kinds:
        rows = np.flatnonzero(
            (events.etype == TYPE_CODE[kind.event_type])
            & (events.detail == DETAIL_CODE[str(kind.detail)])
        )
        if kind.group != "registered" or len(rows) == 0:
            continue
        week = events.occurred[rows] // WEEK
        assert registered[week, events.child[rows]].all(), kind.name
        amounts = events.amount[rows]
        assert np.isnan(amounts).all() == (SUPPORT_YUAN[kind.name] is None), kind.name


def test_a_synthetic_folder_holds_the_new_kinds_and_declares_1_1(tmp_path: Path) -> None:
    generate(SynthConfig(children=4000, seed=2, workers=1), tmp_path / "d")
    histories = load_case_histories(tmp_path / "d")
    events = histories.events.collect()
    seen = events.filter(pl.col(s.EVENT_TYPE).cast(pl.String).is_in(NEW))
    assert set(seen[s.EVENT_TYPE].cast(pl.String)) == set(NEW)
    for kind in NEW:
        details = set(seen.filter(pl.col(s.EVENT_TYPE) == kind)[s.DETAIL].cast(pl.String))
        assert details <= set(s.CATALOGUE[kind].details or ())
    assert '"contract_version": "1.1"' in (tmp_path / "d" / s.EXPORT_FILE).read_text()
