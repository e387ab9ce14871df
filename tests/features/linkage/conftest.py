"""Synthetic sources and their linkage, shared by the linkage tests (module-scoped work
done once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.synth import SynthConfig, generate
from features.synth.sources import write_sources
from tests.features.linkage.linking import link

CHILDREN = 3000


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(truth folder, sources folder) for 3,000 synthetic children."""
    base = tmp_path_factory.mktemp("link")
    truth, sources = base / "truth", base / "sources"
    generate(SynthConfig(children=CHILDREN, seed=5, workers=1), truth)
    write_sources(truth, sources, seed=5)
    return truth, sources


@pytest.fixture(scope="session")
def linked(synthetic: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic sources linked with the default policy, trained on them."""
    return link(synthetic[1], tmp_path_factory.mktemp("linked") / "out")
