"""The feature specification compiled once into arrays: what each event adds to which column.

The registry says what each feature means; this module turns it, with the configuration
and the policy, into tables over event *codes* (an event's type and detail as one small
integer), so that the kernels (features.kernel) never look at a string. Each window
group is a table grouped by code: for code c, the columns it adds to and what it adds
(1, whether its severity reaches a level, or its amount in thousandths). Recency-weighted
counts are a table of the same shape whose level is the half-life. Each running status
or recency is a row over the codes: the code packed with the occurrence, or none.
A plan is made once per (registry, configuration, policy) and shared by the batch, the
Spark partitions and every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np

from features import schema as s
from features.config import FeatureConfig, Policy, Window
from features.kernel import Bool, Int
from features.registry import (
    HOUSEHOLD_SOURCES,
    TREND_RECENT_DAYS,
    TREND_SPAN_DAYS,
    FeatureSpec,
    Registry,
    build_registry,
    source_of,
    stem,
    window_suffix,
)
from features.status_specs import AWAY_STATUSES
from features.statuses import LATEST_OF

STRIDE: Final = len(s.DETAIL_CODES) + 1  # detail index + 1; 0: no detail
N_CODES: Final = len(s.EVENT_TYPES) * STRIDE
ONE, SEVERITY_AT_LEAST, AMOUNT = 0, 1, 2  # what an event adds to a summed column
HALVED: Final = 3  # what it adds to a decayed column: 2^(-age in days / level), level the half-life
PACK_SEVERITY: Final = -2  # in a running column's row: pack the event's severity (0 if none)
NOT_IN: Final = -1  # in a running column's row: the code does not take part
ALWAYS: Final = -2  # label threshold: an outcome whatever its severity
NO_OUTCOME: Final = 1 << 30
Entry = tuple[Bool, int, int]  # a summed column's codes, what an event adds, the level


def code_of(type_index: Int, detail_index: Int) -> Int:
    """Event codes from the physical codes of the type and detail enums (detail -1: none)."""
    return type_index * STRIDE + detail_index + 1


def matching(event_type: str, detail: str | None = None) -> Bool:
    """Which codes are events of ``event_type`` (and of ``detail``, when given)."""
    codes = np.zeros(N_CODES, dtype=bool)
    base = s.EVENT_TYPES.index(event_type) * STRIDE
    if detail is None:
        codes[base : base + STRIDE] = True
    else:
        codes[base + s.DETAIL_CODES.index(detail) + 1] = True
    return codes


def counted_codes(spec: FeatureSpec) -> Bool:
    """The codes a feature of event counts counts: its sources' (and detail's)."""
    codes: Bool = np.logical_or.reduce([matching(t, spec.detail) for t in spec.sources])
    return codes


def count_name(event_type: str, detail: str | None, window: Window) -> str:
    return f"{stem(event_type, detail)}__count_{window_suffix(window)}"


def trend_names(spec: FeatureSpec) -> tuple[str, str]:
    """A trend's two counts: of the recent days, and of the whole span."""
    event_type, detail = spec.sources[0], spec.detail
    return (
        count_name(event_type, detail, TREND_RECENT_DAYS),
        count_name(event_type, detail, TREND_SPAN_DAYS),
    )


def source_columns(spec: FeatureSpec) -> dict[str, Bool]:
    """A sources feature's counts, one per source system: its name and its codes."""
    columns: dict[str, Bool] = {}
    for event_type in spec.sources:
        name = f"__source__{source_of(event_type)}__{window_suffix(spec.window or 'all')}"
        columns[name] = columns.get(name, np.zeros(N_CODES, bool)) | matching(event_type)
    return columns


def decayed_name(spec: FeatureSpec) -> str:
    return f"__decayed__{spec.name}"


def severity_name(spec: FeatureSpec, level: int) -> str:
    return f"__sev_ge{level}__{spec.name}"


@dataclass(frozen=True)
class Sums:
    """Summed columns, each over its window: entries grouped by code (``pointers``);
    entry i adds to ``column[i]`` over ``windows[window[i]]``."""

    names: tuple[str, ...]
    windows: tuple[Window, ...]
    pointers: Int
    column: Int
    kind: Int
    level: Int
    window: Int

    @classmethod
    def of(cls, groups: dict[Window, dict[str, Entry]], first: tuple[str, ...] = ()) -> Sums:
        """From window -> name -> (codes, what is added, level); columns ``first`` first
        (so that they can be read as one block), then the others in order."""
        named = [name for entries in groups.values() for name in entries]
        names = [*first, *(name for name in named if name not in first)]
        rows = [
            (int(code), names.index(name), kind, level, w)
            for w, entries in enumerate(groups.values())
            for name, (codes, kind, level) in entries.items()
            for code in np.flatnonzero(codes)
        ]
        rows.sort(key=lambda row: row[0])
        table = np.array(rows, dtype=np.int64).reshape(-1, 5)
        pointers = np.searchsorted(table[:, 0], np.arange(N_CODES + 1), side="left")
        columns = (table[:, i] for i in range(1, 5))
        return cls(tuple(names), tuple(groups), pointers.astype(np.int64), *columns)

    @cached_property
    def position(self) -> dict[str, int]:
        """Each column's index."""
        return {name: i for i, name in enumerate(self.names)}


@dataclass(frozen=True)
class Running:
    """Columns of running maxima: per column, per code, the code packed (or NOT_IN)."""

    names: tuple[str, ...]
    table: Int  # (columns, N_CODES)

    @classmethod
    def of(cls, rows: dict[str, Int]) -> Running:
        table = np.stack(list(rows.values())) if rows else np.zeros((0, N_CODES), np.int64)
        return cls(tuple(rows), table)


def latest_row(codes: dict[tuple[str, str | None], int]) -> Int:
    """A status group's row: each of its (type, detail)'s code (later entries win)."""
    row = np.full(N_CODES, NOT_IN, dtype=np.int64)
    for (event_type, detail), code in codes.items():
        row[matching(event_type, detail)] = code
    return row


@dataclass(frozen=True)
class Plan:
    """Everything the kernels need for one registry, configuration and policy."""

    registry: Registry
    config: FeatureConfig
    policy: Policy
    sums: Sums
    decayed: Sums  # level: the half-life in days
    running: Running
    household: Sums | None
    placed: Running
    outcome_threshold: Int  # per code: severity an outcome needs (ALWAYS, NO_OUTCOME)

    @property
    def windows(self) -> frozenset[Window]:
        """Every window a value or its evidence is summed over ("all" included)."""
        return frozenset({*self.sums.windows, "all"})


_PLANS: dict[tuple[str, str], Plan] = {}


def compile_plan(config: FeatureConfig, policy: Policy) -> Plan:
    """The plan of the registry that ``config`` and ``policy`` give (made once for each
    pair of digests, then shared)."""
    key = (config.digest(), policy.digest())
    if key not in _PLANS:
        _PLANS[key] = _compile(config, policy)
    return _PLANS[key]


def _compile(config: FeatureConfig, policy: Policy) -> Plan:
    registry = build_registry(config, policy)
    household = Sums.of(
        {
            window: {
                f"__hh__{count_name(t, d, window)}": (matching(t, d), ONE, 0)
                for t, d in HOUSEHOLD_SOURCES
            }
            for window in config.household_windows
        }
    )
    return Plan(
        registry=registry,
        config=config,
        policy=policy,
        sums=Sums.of(_summed(registry), counts_of(registry)),
        decayed=Sums.of({"all": _decayed(registry)}),
        running=Running.of(_running(registry)),
        household=household if any(sp.kind == "household" for sp in registry.specs) else None,
        placed=Running.of({"__placed": latest_row(LATEST_OF["__placed"])}),
        outcome_threshold=_outcomes(config),
    )


def counts_of(registry: Registry) -> tuple[str, ...]:
    """The summed column of each count feature, in registry order."""
    return tuple(
        count_name(spec.sources[0], spec.detail, spec.window or "all")
        for spec in registry.specs
        if spec.kind == "count"
    )


def _summed(registry: Registry) -> dict[Window, dict[str, Entry]]:
    """Per window: each summed column's codes, what an event adds, and the level."""
    groups: dict[Window, dict[str, Entry]] = {}
    for spec in registry.specs:
        for window, name, entry in _sums_of(spec):
            groups.setdefault(window, {})[name] = entry
    parent = "community.parent_status"
    statuses = {
        "__parents_deceased": matching(parent, "deceased"),
        "__parents_left": np.logical_or.reduce([matching(parent, c) for c in AWAY_STATUSES]),
        "__parents_returned": matching(parent, "returned"),
        "__unattended": matching("community.unattended_registered"),
        "__disabled": matching("health.disability_certified"),
    }
    for name, codes in statuses.items():
        groups.setdefault("all", {})[name] = (codes, ONE, 0)
    return groups


def _sums_of(spec: FeatureSpec) -> list[tuple[Window, str, Entry]]:
    """The summed columns a feature's value is read from (features.columns)."""
    if spec.window is None or not spec.sources or spec.kind == "decayed":
        return []
    if spec.kind == "sources":
        return [
            (spec.window, name, (codes, ONE, 0)) for name, codes in source_columns(spec).items()
        ]
    event_type, codes = spec.sources[0], matching(spec.sources[0], spec.detail)
    if spec.kind == "trend":
        recent, span = trend_names(spec)
        return [
            (TREND_RECENT_DAYS, recent, (codes, ONE, 0)),
            (TREND_SPAN_DAYS, span, (codes, ONE, 0)),
        ]
    if spec.kind in ("count", "never", "household", "days_since"):
        window = "all" if spec.kind in ("never", "days_since") else spec.window
        return [(window, count_name(event_type, spec.detail, window), (codes, ONE, 0))]
    if spec.kind == "max_severity":
        low, high = s.CATALOGUE[event_type].severity or (0, 0)
        levels = range(low, high + 1)
        return [
            (spec.window, severity_name(spec, v), (codes, SEVERITY_AT_LEAST, v)) for v in levels
        ]
    if spec.kind == "sum_amount":
        return [(spec.window, f"__milli__{spec.name}", (codes, AMOUNT, 0))]
    return []


def _decayed(registry: Registry) -> dict[str, Entry]:
    """Each recency-weighted count's codes, with its half-life as the level."""
    return {
        decayed_name(spec): (matching(spec.sources[0], spec.detail), HALVED, spec.half_life_days)
        for spec in registry.specs
        if spec.kind == "decayed" and spec.half_life_days is not None
    }


def _running(registry: Registry) -> dict[str, Int]:
    """Running-maximum rows: latest occurrence per recency feature, (occurrence, code)
    per status group, and the latest disability level."""
    rows: dict[str, Int] = {}
    for spec in registry.specs:
        if spec.kind == "days_since":
            row = np.full(N_CODES, NOT_IN, dtype=np.int64)
            row[matching(spec.sources[0], spec.detail)] = 0
            rows[f"__last__{spec.name}"] = row
    for group, codes in LATEST_OF.items():
        if group != "__placed":  # the cohort's, computed before the other features
            rows[group] = latest_row(codes)
    level = np.full(N_CODES, NOT_IN, dtype=np.int64)
    level[matching("health.disability_certified")] = PACK_SEVERITY
    rows["__disability_level"] = level
    return rows


def _outcomes(config: FeatureConfig) -> Int:
    """Per code, the severity an event needs to be an outcome of the label."""
    threshold = np.full(N_CODES, NO_OUTCOME, dtype=np.int64)
    for item in config.label.outcomes:
        need = ALWAYS if item.min_severity is None else item.min_severity
        codes = matching(item.event_type, item.detail)
        threshold[codes] = np.minimum(threshold[codes], need)
    return threshold
