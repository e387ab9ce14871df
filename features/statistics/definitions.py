"""What the statistics count, read from ``default_statistics.toml`` (or a user's file).

A population is a list of conditions on the feature table (any of them puts a child in);
a support area is a list of event kinds (a type, and a detail code where it has one).
Every name is checked against the catalogue and the feature pipeline when read, so a
typo is an error naming it, never a population that silently counts nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from features import schema as s
from features.config import Aggregate, CohortConfig, FeatureConfig
from features.tomlfile import read_over_defaults

DEFAULT_FILE: Final = "default_statistics.toml"
# the status features a population may name: features.statuses.status_columns' booleans
# and categories (a count feature comes from ``event_type`` and ``within`` instead)
STATUS_PREFIX: Final = "status__"


class StatisticsConfigError(ValueError):
    """A statistics definition that cannot be counted: the message names the entry."""


@dataclass(frozen=True)
class Condition:
    """True for a child whose ``feature`` is true, equals ``is_``, or is >= ``at_least``."""

    feature: str
    is_: str | None = None
    at_least: int | None = None

    def expr(self) -> pl.Expr:
        column = pl.col(self.feature)
        if self.is_ is not None:
            return column.cast(pl.String) == self.is_
        if self.at_least is not None:
            return column >= self.at_least
        return column.cast(pl.Boolean)


@dataclass(frozen=True)
class Population:
    key: str
    en: str
    zh: str
    any: tuple[Condition, ...]
    counted: tuple[Aggregate, ...] = ()  # the counts its conditions need from the pipeline

    def expr(self) -> pl.Expr:
        """True for the feature table's rows of children in the population."""
        return pl.any_horizontal([c.expr() for c in self.any]).fill_null(False)


@dataclass(frozen=True)
class Kind:
    event_type: str
    detail: str | None = None


@dataclass(frozen=True)
class SupportArea:
    key: str
    en: str
    zh: str
    kinds: tuple[Kind, ...]


@dataclass(frozen=True)
class Definitions:
    min_age: int
    max_age: int
    months: int
    suppress_below: int
    populations: tuple[Population, ...]
    support: tuple[SupportArea, ...]

    def feature_config(self) -> FeatureConfig:
        """The pipeline's configuration for the populations: every child of the ages
        counted, in care or not, with the counts the populations ask for."""
        windows: dict[tuple[str, str | None], set[int]] = {}
        for population in self.populations:
            for aggregate in population.counted:
                key = (aggregate.event_type, aggregate.detail)
                windows.setdefault(key, set()).update(int(w) for w in aggregate.count)
        aggregates = tuple(
            Aggregate(event_type, detail, count=tuple(sorted(days)))
            for (event_type, detail), days in sorted(windows.items(), key=str)
        )
        cohort = CohortConfig(self.min_age, self.max_age, False, False)
        return FeatureConfig(cohort=cohort, aggregates=aggregates, household_windows=())

    def area_of(self) -> dict[tuple[str, str | None], str]:
        """(event type, detail or None) -> the support area it counts in."""
        return {(k.event_type, k.detail): a.key for a in self.support for k in a.kinds}


def load_definitions(path: Path | None = None) -> Definitions:
    """The statistics' definitions: the shipped file, or a user's over it."""
    raw = read_over_defaults("features", DEFAULT_FILE, path, StatisticsConfigError)
    counting = _table(raw.get("counting"), "counting")
    listed = enumerate(_list(raw, "population"))
    populations = tuple(_population(p, f"population[{i}]") for i, p in listed)
    support = tuple(_support(a, f"support[{i}]") for i, a in enumerate(_list(raw, "support")))
    _unique([p.key for p in populations], "population")
    _unique([a.key for a in support], "support")
    kinds = [(k.event_type, k.detail) for a in support for k in a.kinds]
    _unique([f"{t}/{d}" for t, d in kinds], "support kind")
    for event_type, detail in kinds:
        if detail is None and any(t == event_type and d is not None for t, d in kinds):
            message = f"support: {event_type} is in two areas (whole and by detail)"
            raise StatisticsConfigError(message)
    definitions = Definitions(
        min_age=_int(counting, "min_age", "counting", 0),
        max_age=_int(counting, "max_age", "counting", 0),
        months=_int(counting, "months", "counting", 1),
        suppress_below=_int(counting, "suppress_below", "counting", 1),
        populations=populations,
        support=support,
    )
    if definitions.min_age > definitions.max_age:
        raise StatisticsConfigError("counting: min_age must not be above max_age")
    return definitions


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatisticsConfigError(f"{where}: expected a table")
    return value


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        raise StatisticsConfigError(f"{key}: expected one or more [[{key}]] tables")
    return value


def _keys(raw: Any, allowed: set[str], where: str) -> dict[str, Any]:
    table = _table(raw, where)
    if unknown := sorted(set(table) - allowed):
        known = ", ".join(sorted(allowed))
        raise StatisticsConfigError(f"{where}.{unknown[0]}: unknown key (known: {known})")
    return table


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise StatisticsConfigError(f"{where}.{key}: expected a non-empty string")
    return value


def _int(table: dict[str, Any], key: str, where: str, least: int) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise StatisticsConfigError(f"{where}.{key}: expected a whole number of at least {least}")
    return value


def _unique(keys: list[str], what: str) -> None:
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise StatisticsConfigError(f"{what}: {twice[0]!r} is defined twice")


def _population(raw: Any, where: str) -> Population:
    table = _keys(raw, {"key", "en", "zh", "any"}, where)
    conditions = table.get("any")
    if not isinstance(conditions, list) or not conditions:
        raise StatisticsConfigError(f"{where}.any: expected a list of one or more conditions")
    parsed = [_condition(c, f"{where}.any[{i}]") for i, c in enumerate(conditions)]
    return Population(
        key=_text(table, "key", where),
        en=_text(table, "en", where),
        zh=_text(table, "zh", where),
        any=tuple(condition for condition, _ in parsed),
        counted=tuple(aggregate for _, aggregate in parsed if aggregate is not None),
    )


def _condition(raw: Any, where: str) -> tuple[Condition, Aggregate | None]:
    table = _keys(raw, {"feature", "is", "at_least", "event_type", "within"}, where)
    if "event_type" in table:
        if "feature" in table or "is" in table:
            raise StatisticsConfigError(f"{where}: give either feature or event_type, not both")
        event_type = _event_type(table["event_type"], f"{where}.event_type")
        days = _int(table, "within", where, 1)
        aggregate = Aggregate(event_type, count=(days,))
        least = _int(table, "at_least", where, 1) if "at_least" in table else 1
        return Condition(count_feature(event_type, days), at_least=least), aggregate
    feature = _text(table, "feature", where)
    if not feature.startswith(STATUS_PREFIX):
        raise StatisticsConfigError(
            f"{where}.feature: {feature!r} is not a status feature (status__...); "
            "a count is asked for with event_type and within"
        )
    is_ = _text(table, "is", where) if "is" in table else None
    at_least = _int(table, "at_least", where, 0) if "at_least" in table else None
    return Condition(feature, is_, at_least), None


def _event_type(value: Any, where: str) -> str:
    if value not in s.CATALOGUE:
        raise StatisticsConfigError(f"{where}: {value!r} is not an event type of the catalogue")
    return str(value)


def count_feature(event_type: str, days: int) -> str:
    """The feature table's column of the count of ``event_type`` in the last ``days``."""
    return f"{event_type.replace('.', '_')}__count_{days}d"


def _support(raw: Any, where: str) -> SupportArea:
    table = _keys(raw, {"key", "en", "zh", "kinds"}, where)
    kinds = table.get("kinds")
    if not isinstance(kinds, list) or not kinds:
        raise StatisticsConfigError(f"{where}.kinds: expected a list of one or more kinds")
    return SupportArea(
        key=_text(table, "key", where),
        en=_text(table, "en", where),
        zh=_text(table, "zh", where),
        kinds=tuple(_kind(k, f"{where}.kinds[{i}]") for i, k in enumerate(kinds)),
    )


def _kind(raw: Any, where: str) -> Kind:
    table = _keys(raw, {"event_type", "detail"}, where)
    event_type = _event_type(table.get("event_type"), f"{where}.event_type")
    detail = table.get("detail")
    if detail is not None and detail not in (s.CATALOGUE[event_type].details or ()):
        message = f"{where}.detail: {detail!r} is not a detail code of {event_type}"
        raise StatisticsConfigError(message)
    return Kind(event_type, detail)
