"""One chunk of children, simulated end to end from its own seed.

Chunk i of a run draws from ``SeedSequence(seed, spawn_key=(i,))`` -- the i-th child of
``SeedSequence(seed).spawn`` -- so chunks are independent and can run in any process,
in any order, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.synth.arrays import (
    DAY,
    DETAIL_CODE,
    NEVER,
    TYPE_CODE,
    BoolArray,
    EventBlock,
    FloatArray,
    IntArray,
    TimeGrid,
)
from features.synth.config import SynthConfig
from features.synth.latent import Latent, band_matrix, static_log_rate
from features.synth.oracle import horizon_state, oracle_probability
from features.synth.ordinary import draw_ordinary
from features.synth.ordinary_events import ordinary_blocks
from features.synth.outcome_events import outcome_blocks
from features.synth.params import SynthParams
from features.synth.population import Population, draw_population
from features.synth.recording import finalise
from features.synth.schooling import schooling_blocks
from features.synth.script import Script, draw_script, spell_matrix
from features.synth.scripted_events import scripted_blocks
from features.synth.support_events import merged, support_events
from features.synth.weekly import run_weeks

# appended streams leave the earlier ones as they were ("support": contract 1.1's kinds)
STREAMS = (
    "population", "script", "chain", "marks", "ordinary", "events", "finalise", "support",
)  # fmt: skip


@dataclass(frozen=True)
class OracleRows:
    """Oracle probabilities of one chunk: child index, as-of index, probability, label."""

    child: IntArray
    as_of: IntArray  # index into the run's as-of dates
    probability: FloatArray
    label: BoolArray  # an outcome in the exported data within the horizon


@dataclass(frozen=True)
class ChunkResult:
    """Everything one chunk contributes; ``population``/``script``/``latent`` for tests."""

    index: int
    population: Population
    events: EventBlock
    oracle: OracleRows
    script: Script | None = None
    latent: Latent | None = None


def chunk_sizes(config: SynthConfig) -> list[int]:
    full, rest = divmod(config.children, config.chunk_size)
    return [config.chunk_size] * full + ([rest] if rest else [])


def simulate_chunk(config: SynthConfig, index: int, keep_latent: bool = False) -> ChunkResult:
    """Simulate chunk ``index`` of the run: population, script, weeks, events, oracle."""
    params = config.params
    n = chunk_sizes(config)[index]
    streams = np.random.SeedSequence(config.seed, spawn_key=(index,)).spawn(len(STREAMS))
    rng = {name: np.random.default_rng(ss) for name, ss in zip(STREAMS, streams, strict=True)}
    grid = TimeGrid(config.start, config.end)
    pop = draw_population(params, grid, n, rng["population"])
    script = draw_script(params, pop, grid, rng["script"])
    latent = build_latent(params, grid, pop, script)
    latent, draws, removals = run_weeks(params, latent, rng["chain"], rng["marks"])
    registered = registered_matrix(pop, script, grid)
    hits = draw_ordinary(params, pop, latent, registered, rng["ordinary"])
    blocks, drop_child, drop_time = ordinary_blocks(params, hits, rng["events"])
    blocks.extend(scripted_blocks(params, pop, script, rng["events"]))
    blocks.extend(
        schooling_blocks(params, grid, pop, latent, (drop_child, drop_time), rng["events"])
    )
    blocks.extend(outcome_blocks(params, draws, removals, pop.birth_s, rng["events"]))
    events = finalise(params, grid, blocks, pop.adult_s, rng["finalise"])
    support = support_events(params, grid, pop, latent, registered, rng["support"])
    events = merged(events, support)
    oracle = oracle_rows(config, grid, latent, events)
    return ChunkResult(
        index, pop, events, oracle, script if keep_latent else None, latent if keep_latent else None
    )


def build_latent(params: SynthParams, grid: TimeGrid, pop: Population, script: Script) -> Latent:
    """Everything the weekly simulation and the oracle need, before the weeks are run."""
    placed = np.flatnonzero(script.placed_at < NEVER)
    disabled = script.disabled_at < NEVER
    return Latent(
        unit=pop.unit,
        hh_risk=pop.hh_risk,
        static_log_rate=static_log_rate(params, pop.risk, disabled),
        band=band_matrix(pop.birth_day, pop.adult_day, grid.n_weeks),
        stress=stress_matrix(params, pop, script, grid.n_weeks),
        crisis=np.zeros((grid.n_weeks, pop.n_households), dtype=np.bool_),
        away_child=placed,
        away_start=script.placed_at[placed],
        away_end=np.full(len(placed), NEVER, dtype=np.int64),
        away_trigger=np.full(len(placed), -NEVER, dtype=np.int64),
        birth_day=pop.birth_day,
        adult_day=pop.adult_day,
    )


def stress_matrix(params: SynthParams, pop: Population, script: Script, n_weeks: int) -> np.ndarray:
    """(W, n_h) float32 family stress: parents' episodes, dibao, left-behind, unattended."""
    n_h = pop.n_households
    hh = np.arange(n_h)
    weights = np.array([0.0, *params.stress_by_episode])
    rows, starts, ends, w = [], [], [], []
    for parent in (0, 1):
        rows.append(hh)
        starts.append(script.ep_start[:, parent])
        ends.append(script.ep_end[:, parent])
        w.append(weights[script.episode[:, parent]])
    spells = script.spells
    lb_weight = params.stress_left_behind + params.stress_left_behind_outlying * (pop.hh_area == 2)
    for start, end, weight in (
        (script.dibao_start, script.dibao_end, np.full(n_h, params.stress_dibao)),
        (spells.lb_start, spells.lb_end, lb_weight),
        (spells.un_start, spells.un_end, np.full(n_h, params.stress_unattended)),
    ):
        rows.append(hh)
        starts.append(start)
        ends.append(end)
        w.append(weight)
    milli = np.rint(np.concatenate(w) * 1000).astype(np.int64)
    matrix = spell_matrix(
        n_h, n_weeks, np.concatenate(rows), np.concatenate(starts), np.concatenate(ends), milli
    )
    return (matrix / 1000).astype(np.float32)


def registered_matrix(pop: Population, script: Script, grid: TimeGrid) -> np.ndarray:
    """(W, n) bool: registered left-behind or unattended, or the family is on dibao."""
    child = np.arange(pop.n_children)
    dibao_start = np.maximum(script.dibao_start[pop.unit], pop.birth_s)
    rows = np.concatenate([child, child, child])
    starts = np.concatenate([script.lb_reg, script.un_reg, dibao_start])
    ends = np.concatenate([script.lb_reg_end, script.un_reg_end, script.dibao_end[pop.unit]])
    weight = np.ones(len(rows), dtype=np.int64)
    return spell_matrix(pop.n_children, grid.n_weeks, rows, starts, ends, weight) > 0


def outcome_mask(events: EventBlock) -> BoolArray:
    """The contract's default outcome: removal, substantiated severity-3 finding, rescue,
    suspicious injury of severity >= 2."""
    t, d, sev = events.etype, events.detail, events.severity
    mask = (
        (t == TYPE_CODE["welfare.emergency_removal"])
        | (t == TYPE_CODE["police.rescue"])
        | ((t == TYPE_CODE["welfare.finding"]) & (d == DETAIL_CODE["substantiated"]) & (sev == 3))
        | ((t == TYPE_CODE["health.injury"]) & (d == DETAIL_CODE["suspicious"]) & (sev >= 2))
    )
    return np.asarray(mask, dtype=np.bool_)


def oracle_rows(
    config: SynthConfig, grid: TimeGrid, latent: Latent, events: EventBlock
) -> OracleRows:
    """The oracle at every as-of date for every child aged 0-17 then, with realised labels."""
    outcome = outcome_mask(events)
    out_child, out_time = events.child[outcome], events.occurred[outcome]
    horizon_s = config.horizon_days * DAY
    parts = []
    for j, day in enumerate(config.as_of_dates()):
        as_of_s = grid.day_of(day) * DAY
        state = horizon_state(config.params, latent, as_of_s, config.horizon_days)
        inside = (out_time > as_of_s) & (out_time <= as_of_s + horizon_s)
        label = np.isin(state.child, out_child[inside])
        parts.append((state.child, np.full(len(state.child), j), oracle_probability(state), label))
    return OracleRows(*(np.concatenate([p[i] for p in parts]) for i in range(4)))
