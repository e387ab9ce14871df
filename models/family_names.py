"""The model families' names and the error an unknown one raises, apart from the families
themselves (models.families, which loads scikit-learn): so that a command can name them in
its help and check an option without loading the estimators."""

from __future__ import annotations

from typing import Final

FAMILIES: Final = ("scorecard", "logistic", "ebm", "gbm", "baseline")
INTERPRETABLE: Final = ("scorecard", "logistic", "ebm", "baseline")


class FamilyError(ValueError):
    """An unknown family or parameter; says which."""


def is_candidates(value: object) -> bool:
    """A parameter's candidates (models.tuning): a non-empty list of numbers. Lists of
    other things (the EBM's ``feature_types``, pairs of ``interactions``) are values."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
