"""The statistics as one plain report: the suppressed figures with the definitions they
were counted by, as JSON-ready values. What the service keeps and every export reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date
from typing import Any, Final

import polars as pl

from features.contract import CaseHistories
from features.statistics.counts import COLUMNS, count_all
from features.statistics.definitions import Definitions, Population, SupportArea
from features.statistics.suppression import SUPPRESSED, Figures, suppress

TABLES: Final = ("populations", "support")
ROW_COLUMNS: Final = (*COLUMNS, SUPPRESSED)


def statistics_report(histories: CaseHistories, definitions: Definitions) -> dict[str, Any]:
    """Count, suppress and describe: the report of a data folder's or store's histories."""
    figures = suppress(count_all(histories, definitions), definitions.suppress_below)
    return as_report(figures, definitions)


def as_report(figures: Figures, definitions: Definitions) -> dict[str, Any]:
    """Figures (already suppressed: nothing else makes a report) with their definitions."""
    return {
        "exported_at": figures.exported_at,
        "months": [month.isoformat() for month in figures.months],
        "suppress_below": figures.suppress_below,
        "definitions_sha256": definitions_digest(definitions),
        "definitions": describe(definitions),
        "populations": _rows(figures.populations),
        "support": _rows(figures.support),
    }


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    shown = frame.select(ROW_COLUMNS).with_columns(pl.col("month").dt.to_string("%Y-%m-%d"))
    return shown.to_dicts()


def frame_of(report: dict[str, Any], table: str) -> pl.DataFrame:
    """One of a report's tables (``populations`` or ``support``) as a frame."""
    schema = {
        "month": pl.String, "level": pl.String, "place": pl.String, "area": pl.String,
        "group": pl.String, "measure": pl.String, "count": pl.Float64, SUPPRESSED: pl.Boolean,
    }  # fmt: skip
    frame = pl.DataFrame(report[table], schema=schema, orient="row")
    return frame.with_columns(pl.col("month").str.to_date("%Y-%m-%d"))


def latest_month(report: dict[str, Any]) -> date:
    return date.fromisoformat(report["months"][-1])


def describe(definitions: Definitions) -> dict[str, Any]:
    """Each population's and support area's key, words and conditions, for a reader."""
    return {
        "counting": {
            "min_age": definitions.min_age,
            "max_age": definitions.max_age,
            "months": definitions.months,
            "suppress_below": definitions.suppress_below,
        },
        "populations": [_population(p) for p in definitions.populations],
        "support": [_support(a) for a in definitions.support],
    }


def _population(population: Population) -> dict[str, Any]:
    conditions = []
    for condition in population.any:
        if condition.is_ is not None:
            conditions.append(f"{condition.feature} = {condition.is_}")
        elif condition.at_least is not None:
            conditions.append(f"{condition.feature} >= {condition.at_least}")
        else:
            conditions.append(condition.feature)
    return {"key": population.key, "en": population.en, "zh": population.zh, "any": conditions}


def _support(area: SupportArea) -> dict[str, Any]:
    kinds = [
        k.event_type if k.detail is None else f"{k.event_type} ({k.detail})" for k in area.kinds
    ]
    return {"key": area.key, "en": area.en, "zh": area.zh, "kinds": kinds}


def definitions_digest(definitions: Definitions) -> str:
    text = json.dumps(asdict(definitions), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
