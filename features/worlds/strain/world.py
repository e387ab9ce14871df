"""One strain world, simulated end to end in memory: population, path, records, oracle.

Why: the writer and the tests want the same world, and the tests also want its latent
state (to replay the oracle's horizons), so the simulation is one function returning
everything. How: independent random streams per concern (spawned from the seed), so
adding a draw to one concern never shifts another's; the order is population, the
weekly path, then every source's records (each emitted from the path, never fed back),
the recording, and the oracle at every as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from features.synth.arrays import DAY, EventBlock, FloatArray, IntArray, TimeGrid
from features.worlds.strain.followup import outcome_blocks, report_blocks
from features.worlds.strain.hazard import band_matrix, child_factor
from features.worlds.strain.home import active_households, homes
from features.worlds.strain.households import household_records
from features.worlds.strain.ladder import build_ladder
from features.worlds.strain.oracle import horizon_state, oracle_probability
from features.worlds.strain.params import StrainParams
from features.worlds.strain.population import Population, draw_population
from features.worlds.strain.recording import finalise, recorder
from features.worlds.strain.school import absence_blocks, enrolment_blocks, school_plan
from features.worlds.strain.signals import child_signals, strain_at_home
from features.worlds.strain.support import support_blocks
from features.worlds.strain.visits import draw_household_hits, household_signal_blocks
from features.worlds.strain.weeks import Latent, run_weeks

# appended streams leave the earlier ones as they were ("support": contract 1.1's kinds)
STREAMS = (
    "population", "chain", "marks", "recording", "school", "signals", "households",
    "visits", "followup", "support",
)  # fmt: skip
ORACLE_BLOCK = 16_384


@dataclass(frozen=True)
class OracleRows:
    """The oracle: child index, index of the as-of date, probability."""

    child: IntArray
    as_of: IntArray
    probability: FloatArray


@dataclass(frozen=True)
class World:
    """A simulated world: its population, latent state, exported events and oracle."""

    grid: TimeGrid
    pop: Population
    latent: Latent
    events: EventBlock
    oracle: OracleRows
    as_of_dates: tuple[date, ...]


def simulate_world(
    params: StrainParams,
    children: int,
    seed: int,
    grid: TimeGrid,
    as_of_dates: tuple[date, ...],
    horizon_days: int,
) -> World:
    """Simulate ``children`` children from ``seed``; deterministic in its arguments."""
    seeds = np.random.SeedSequence(seed).spawn(len(STREAMS))
    rng = {name: np.random.default_rng(ss) for name, ss in zip(STREAMS, seeds, strict=True)}
    pop = draw_population(params, grid, children, rng["population"])
    latent = initial_latent(params, pop, grid)
    latent, shocks, drawn, removals = run_weeks(params, pop, latent, rng["chain"], rng["marks"])
    home = homes(latent, pop.n_households)
    rec = recorder(params, grid, pop.hh_district[pop.unit], rng["recording"])
    strain = strain_at_home(latent.levels, pop.unit, home.care, latent.band)
    plan = school_plan(params, grid, pop, rng["school"])
    signals = child_signals(params, pop, latent.band, strain, plan, rec, rng["signals"])
    records = household_records(params, pop, latent.levels, shocks, home, rec, rng["households"])
    active = active_households(latent, pop.n_households)
    hits = draw_household_hits(
        params, pop, latent.levels, records.registered, active, rng["visits"]
    )
    visit_blocks, visit_reports = household_signal_blocks(params, hits, home, rec, rng["visits"])
    reports = [*signals.reports, *records.reports, *visit_reports]
    blocks = [*signals.blocks, *records.blocks, *visit_blocks]
    blocks.extend(report_blocks(params, reports, rec, rng["followup"]))
    blocks.extend(outcome_blocks(params, drawn, removals, rec, rng["followup"]))
    blocks.extend(enrolment_blocks(plan, grid, signals.dropout_s, rec))
    blocks.extend(absence_blocks(params, plan, strain, signals.dropout_s, rec, rng["school"]))
    blocks.extend(support_blocks(params, records.registered, latent.levels, home, rng["support"]))
    events = finalise(grid, blocks, latent.birth_s, latent.adult_s)
    oracle = oracle_rows(params, latent, grid, as_of_dates, horizon_days)
    return World(grid, pop, latent, events, oracle, as_of_dates)


def initial_latent(params: StrainParams, pop: Population, grid: TimeGrid) -> Latent:
    """The latent state before the weeks are run (no path, no spells in care yet)."""
    empty = np.zeros(0, dtype=np.int64)
    return Latent(
        unit=pop.unit,
        factor=child_factor(params, pop),
        band=band_matrix(pop.birth_day, pop.adult_day, grid.n_weeks),
        birth_s=pop.birth_s,
        adult_s=pop.adult_s,
        ladder=build_ladder(params, pop, grid),
        levels=np.zeros((grid.n_weeks, pop.n_households), dtype=np.int8),
        away_child=empty,
        away_start=empty,
        away_end=empty,
        away_trigger=empty,
    )


def oracle_rows(
    params: StrainParams,
    latent: Latent,
    grid: TimeGrid,
    as_of_dates: tuple[date, ...],
    horizon_days: int,
) -> OracleRows:
    """The oracle at every as-of date for every child aged 0-17 then."""
    parts = []
    for j, day in enumerate(as_of_dates):
        as_of_s = grid.day_of(day) * DAY
        everyone = horizon_state(latent, as_of_s, horizon_days)
        for lo in range(0, len(everyone.child), ORACLE_BLOCK) or [0]:
            state = everyone.subset(np.arange(lo, min(lo + ORACLE_BLOCK, len(everyone.child))))
            probability = oracle_probability(params, state)
            parts.append((state.child, np.full(len(state.child), j), probability))
    return OracleRows(*(np.concatenate([p[i] for p in parts]) for i in range(3)))
