"""Synthetic case histories with a known truth: `riskflag synth` and its oracle.

The generator simulates plausible Beijing child-welfare case histories from a latent
family-risk process and writes, beside the contract tables, each child's true
probability of the default outcome (``oracle.parquet``). See docs/synthetic-data.md.
"""

from features.synth.chunk import ChunkResult, simulate_chunk
from features.synth.config import SynthConfig, SynthConfigError, default_as_of_dates
from features.synth.generator import OutputFolderError, SynthSummary, generate
from features.synth.oracle import (
    HorizonState,
    horizon_state,
    oracle_probability,
    simulate_outcomes_from,
)
from features.synth.params import SynthParams

__all__ = [
    "ChunkResult",
    "HorizonState",
    "OutputFolderError",
    "SynthConfig",
    "SynthConfigError",
    "SynthParams",
    "SynthSummary",
    "default_as_of_dates",
    "generate",
    "horizon_state",
    "oracle_probability",
    "simulate_chunk",
    "simulate_outcomes_from",
]
