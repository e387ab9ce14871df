"""Fixtures shared across the test packages: one Spark session per test worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local Spark session with two worker threads, as `make bench-spark` measures
    (tests that use it are grouped on one xdist worker: `xdist_group("spark")`)."""
    from features.spark import session

    started = session("local[2]", app="riskflag-tests")
    yield started
    started.stop()
