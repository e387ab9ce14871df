"""Every world the model harness judges on, by name: our generator's variants and the
generators unlike it. One entry point writes any of them into a data folder with its
oracle, so the harness treats every world alike."""

from __future__ import annotations

from pathlib import Path

from features.synth import SynthConfig, generate
from features.worlds.strain import generate_strain
from features.worlds.variants import VARIANTS, variant

OTHER_GENERATORS = ("strain",)


def world_names() -> tuple[str, ...]:
    """Our generator's variants first, then the other generators."""
    return (*(v.name for v in VARIANTS), *OTHER_GENERATORS)


def generate_world(name: str, children: int, seed: int, out: Path) -> None:
    """Write world ``name`` (``children`` children, ``seed``) into the empty folder ``out``:
    the contract's tables, export.json and oracle.parquet."""
    if name == "strain":
        generate_strain(children, seed, out)
        return
    generate(SynthConfig(children=children, seed=seed, params=variant(name).params()), out)
