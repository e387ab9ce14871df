"""From a feature table to the numeric matrix models fit on, and back to the registry.

The matrix's columns are fixed by the registry alone (never by the data at hand), so a
model trained on one table scores another with the same columns in the same order; every
matrix column names the registry feature it comes from, so a contribution can always be
explained with that feature's description and evidence.

Encoding by kind: numbers as they are; yes/no as 0/1; a categorical as one 0/1 column per
category of the registry; a maximum severity, null when nothing with a severity was
recorded in the window, as the level (0 then) plus a 0/1 column ``<name>__none``. Any
other null, or a category the registry does not list, is an error naming the column:
a computed input is never silently guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from features.registry import FeatureSpec, Registry


class DesignError(ValueError):
    """The feature table does not fit the registry; says which column and why."""


@dataclass(frozen=True)
class Column:
    """One column of the design matrix and the registry feature it comes from."""

    name: str
    feature: str
    category: str | None = None
    absent_indicator: bool = False


def _columns_of(spec: FeatureSpec) -> list[Column]:
    if spec.categories is not None:
        return [Column(f"{spec.name}={c}", spec.name, category=c) for c in spec.categories]
    columns = [Column(spec.name, spec.name)]
    if spec.kind == "max_severity":
        columns.append(Column(f"{spec.name}__none", spec.name, absent_indicator=True))
    return columns


def design_columns(registry: Registry) -> list[Column]:
    """The matrix columns for a registry, in registry order."""
    return [column for spec in registry.specs for column in _columns_of(spec)]


def _expression(column: Column, spec: FeatureSpec) -> pl.Expr:
    value = pl.col(spec.name)
    if column.category is not None:
        return (value.cast(pl.String) == column.category).cast(pl.Float64)
    if column.absent_indicator:
        return value.is_null().cast(pl.Float64)
    if spec.kind == "max_severity":
        return value.fill_null(0).cast(pl.Float64)
    return value.cast(pl.Float64)


def _check(frame: pl.DataFrame, registry: Registry) -> None:
    missing = [spec.name for spec in registry.specs if spec.name not in frame.columns]
    if missing:
        raise DesignError(f"feature table lacks registry feature(s): {', '.join(missing[:5])}")
    for spec in registry.specs:
        series = frame[spec.name]
        if spec.kind != "max_severity" and series.null_count():
            raise DesignError(f"{spec.name}: {series.null_count()} null value(s)")
        if spec.categories is not None:
            unknown = set(series.cast(pl.String).unique().drop_nulls()) - set(spec.categories)
            if unknown:
                raise DesignError(
                    f"{spec.name}: value(s) {sorted(unknown)} not among the registry's "
                    f"categories {list(spec.categories)}"
                )


def design_matrix(
    frame: pl.DataFrame, registry: Registry, dtype: type[np.floating] = np.float64
) -> tuple[npt.NDArray[np.floating], list[Column]]:
    """The numeric matrix (rows of ``frame``, columns of ``design_columns``)."""
    _check(frame, registry)
    specs = {spec.name: spec for spec in registry.specs}
    columns = design_columns(registry)
    matrix = frame.select(
        _expression(column, specs[column.feature]).alias(column.name) for column in columns
    ).to_numpy()
    return matrix.astype(dtype, copy=False), columns
