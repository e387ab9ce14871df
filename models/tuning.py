"""Parameters chosen by a temporal validation inside the training block, never the test.

Why: a fixed regularisation strength or bin count is tuned, knowingly or not, to the
world it was first tried on. A list of candidates in the training settings
(``[model.scorecard] C = [0.005, 0.02, 0.05, 0.2]``) lets each training run choose on
its own data, and the run records what it chose.

How: the training block's latest ``VALIDATION_DATES`` as-of dates validate; the inner
training rows are the earlier dates whose label windows end by the first validation
date (the horizon separates them, as models.splits separates the blocks). Every
combination of the listed values is fitted on the inner rows and ranked by ROC AUC on
the validation rows (calibration comes later, so ranking is what is chosen); the first
best in list order wins, so ties keep the earlier (in the defaults, the simpler)
candidate. The calibration and test blocks are never seen.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

import numpy as np
from sklearn.metrics import roc_auc_score

from models.families import as_frame, make_pipeline
from models.family_names import is_candidates
from models.riskmodel import Float

VALIDATION_DATES: Final = 3


class TuningError(ValueError):
    """The training block cannot support the temporal validation; says why."""


def candidates(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the list-valued parameters (the others held), in list order."""
    for key, value in params.items():
        if value == []:
            raise TuningError(f"{key}: an empty list of candidates")
    listed = {key: value for key, value in params.items() if is_candidates(value)}
    if not listed:
        return [params]
    keys = list(listed)
    return [
        params | dict(zip(keys, combination, strict=True))
        for combination in itertools.product(*(listed[key] for key in keys))
    ]


def inner_split(as_of: np.ndarray, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the inner training and validation rows of a training block."""
    dates = np.unique(as_of)
    if dates.shape[0] <= VALIDATION_DATES:
        raise TuningError(
            f"choosing parameters needs more than {VALIDATION_DATES} training dates, "
            f"got {dates.shape[0]}"
        )
    validate = dates[-VALIDATION_DATES:]
    last_inner = validate[0] - np.timedelta64(timedelta(days=horizon_days))
    inner = as_of <= last_inner
    if not inner.any():
        raise TuningError(
            f"no training date has its {horizon_days}-day label window end by the first "
            f"validation date {validate[0]}: add training dates to choose parameters"
        )
    return inner, np.isin(as_of, validate)


def tuned_params(
    family: str,
    params: dict[str, Any],
    training: tuple[Float, np.ndarray, np.ndarray],
    horizon_days: int,
    names: Sequence[str],
    directions: Sequence[int],
    seed: int,
) -> dict[str, Any]:
    """``params`` with every list replaced by the value chosen on the training block
    ``training`` = (design matrix, labels, as-of dates of the rows)."""
    grid = candidates(params)
    if len(grid) == 1:
        return grid[0]
    matrix, y, as_of = training
    listed = ", ".join(key for key, value in params.items() if is_candidates(value))
    try:
        inner, validate = inner_split(as_of, horizon_days)
        if np.unique(y[inner]).size < 2 or np.unique(y[validate]).size < 2:
            raise TuningError("the inner training or validation rows hold a single outcome")
    except TuningError as exc:
        raise TuningError(
            f"model.{family}: {listed} lists candidates, and {exc}; give one value instead"
        ) from exc
    scores = []
    for candidate in grid:
        pipeline = make_pipeline(family, names, candidate, seed, directions)
        pipeline.fit(as_frame(matrix[inner], names), y[inner])
        raw = pipeline.decision_function(as_frame(matrix[validate], names))
        scores.append(float(roc_auc_score(y[validate], raw)))
    return grid[int(np.argmax(scores))]
