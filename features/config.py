"""Feature configuration (what to compute) and policy (what an agency allows), from TOML.

Both are validated before anything runs; an error names the bad key and the rule. The
defaults live in ``default_features.toml`` and ``default_policy.toml`` beside this file; a
user's file is laid over them (``features.tomlfile``): tables merge key by key, and any
other value replaces the default (a given ``[[aggregate]]`` list replaces the whole
default list); an unknown table or key is an error naming it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from features import schema as s
from features.tomlfile import read_over_defaults

Window = int | Literal["all"]
# the defaults with the history features on (decayed, trend, sources, status days): what to
# measure them by
EXTENDED_FEATURES: Final = Path(__file__).with_name("extended_features.toml")
EXCLUDABLE_FAMILIES: Final = (
    "disability",
    "mental_health",
    "hukou",
    "association",
    "poverty",
    "sex",
    "area",
)


class ConfigError(ValueError):
    """A configuration or policy that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Outcome:
    """One kind of event that makes the label 1 (all given conditions must hold)."""

    event_type: str
    detail: str | None = None
    min_severity: int | None = None


@dataclass(frozen=True)
class LabelConfig:
    name: str = "urgent_intervention"
    horizon_days: int = s.URGENT_OUTCOME_HORIZON_DAYS
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True)
class CohortConfig:
    min_age: int = 0
    max_age: int = 17
    require_event: bool = True
    exclude_out_of_home: bool = True


@dataclass(frozen=True)
class Aggregate:
    """Window aggregates of one event type, optionally of one detail code of it."""

    event_type: str
    detail: str | None = None
    count: tuple[Window, ...] = ()
    max_severity: tuple[Window, ...] = ()
    sum_amount: tuple[Window, ...] = ()
    days_since: bool = False
    decayed: tuple[int, ...] = ()  # half-lives in days of recency-weighted counts
    trend: bool = False  # the last 90 days' count against the 275 days before


@dataclass(frozen=True)
class FeatureConfig:
    cohort: CohortConfig = field(default_factory=CohortConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    days_since_cap: int = 1095
    aggregates: tuple[Aggregate, ...] = ()
    household_windows: tuple[Window, ...] = (365, "all")
    source_windows: tuple[Window, ...] = ()  # distinct source systems with a record
    status_days: bool = False  # days since each status decided by its latest event was set

    def digest(self) -> str:
        return _digest(self)


@dataclass(frozen=True)
class Policy:
    unsubstantiated_retention_years: int = 5
    report_link_days: int = 90
    exclude: tuple[str, ...] = ()
    association: bool = False

    def digest(self) -> str:
        return _digest(self)

    def allows(self, family: str) -> bool:
        if family == "association" and not self.association:
            return False
        return family not in self.exclude


def _digest(value: FeatureConfig | Policy) -> str:
    text = json.dumps(asdict(value), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- reading ---------------------------------------------------------------------------


def _read_toml(path: Path | None, default_name: str) -> tuple[dict[str, Any], str]:
    raw = read_over_defaults("features", default_name, path, ConfigError)
    return raw, default_name if path is None else str(path)


def _take(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if isinstance(value, bool) and kind in (int, float):
        raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
    if not isinstance(value, kind):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise ConfigError(f"{where}.{key}: expected {expected}, got {value!r}")
    return value


def _check_keys(table: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(allowed))})"
        )
    return table


def _event_type(value: Any, where: str) -> str:
    if value not in s.CATALOGUE:
        raise ConfigError(f"{where}: {value!r} is not an event type of the catalogue")
    return str(value)


def _detail(event_type: str, value: Any, where: str) -> str | None:
    if value is None:
        return None
    codes = s.CATALOGUE[event_type].details or ()
    if value not in codes:
        raise ConfigError(f"{where}: {value!r} is not a detail code of {event_type}")
    return str(value)


def _windows(value: Any, where: str) -> tuple[Window, ...]:
    if not isinstance(value, list):
        raise ConfigError(f'{where}: expected a list of days or "all"')
    for item in value:
        ok = item == "all" or (isinstance(item, int) and not isinstance(item, bool) and item > 0)
        if not ok:
            raise ConfigError(f'{where}: {item!r} is not a window (positive days or "all")')
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: a window is listed twice")
    return tuple(value)


def _outcome(raw: Any, where: str) -> Outcome:
    table = _check_keys(raw, {"event_type", "detail", "min_severity"}, where)
    event_type = _event_type(table.get("event_type"), f"{where}.event_type")
    detail = _detail(event_type, table.get("detail"), f"{where}.detail")
    severity = table.get("min_severity")
    kind = s.CATALOGUE[event_type]
    if severity is not None:
        if kind.severity is None:
            raise ConfigError(f"{where}.min_severity: {event_type} records no severity")
        _take(table, "min_severity", int, where)
    return Outcome(event_type, detail, severity)


def _half_lives(value: Any, where: str) -> tuple[int, ...]:
    days = value if isinstance(value, list) else [None]
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days):
        raise ConfigError(f"{where}: expected a list of half-lives (positive days)")
    if len(set(days)) != len(days):
        raise ConfigError(f"{where}: a half-life is listed twice")
    return tuple(days)


def _flag(table: dict[str, Any], key: str, where: str) -> bool:
    return bool(_take(table, key, bool, where)) if key in table else False


def _aggregate(raw: Any, where: str) -> Aggregate:
    allowed = {"event_type", "detail", "count", "max_severity", "sum_amount", "days_since"}
    allowed |= {"decayed", "trend"}
    table = _check_keys(raw, allowed, where)
    event_type = _event_type(table.get("event_type"), f"{where}.event_type")
    kind = s.CATALOGUE[event_type]
    detail = _detail(event_type, table.get("detail"), f"{where}.detail")
    windows = {
        stat: _windows(table.get(stat, []), f"{where}.{stat}")
        for stat in ("count", "max_severity", "sum_amount")
    }
    if windows["max_severity"] and kind.severity is None:
        raise ConfigError(f"{where}.max_severity: {event_type} records no severity")
    if windows["sum_amount"] and not kind.uses_amount:
        raise ConfigError(f"{where}.sum_amount: {event_type} records no amount")
    return Aggregate(
        event_type,
        detail,
        days_since=_flag(table, "days_since", where),
        decayed=_half_lives(table.get("decayed", []), f"{where}.decayed"),
        trend=_flag(table, "trend", where),
        **windows,
    )


def _cohort(raw: Any) -> CohortConfig:
    table = _check_keys(raw, set(CohortConfig.__dataclass_fields__), "cohort")
    cohort = CohortConfig(
        min_age=_take(table, "min_age", int, "cohort"),
        max_age=_take(table, "max_age", int, "cohort"),
        require_event=_take(table, "require_event", bool, "cohort"),
        exclude_out_of_home=_take(table, "exclude_out_of_home", bool, "cohort"),
    )
    if not 0 <= cohort.min_age <= cohort.max_age <= s.MAX_AGE_YEARS_AT_EXPORT:
        raise ConfigError("cohort: need 0 <= min_age <= max_age <= 25")
    return cohort


def _label(raw: Any) -> LabelConfig:
    table = _check_keys(raw, {"name", "horizon_days", "outcomes"}, "label")
    outcomes = table.get("outcomes", [])
    if not isinstance(outcomes, list) or not outcomes:
        raise ConfigError("label.outcomes: at least one outcome is required")
    return LabelConfig(
        name=str(table.get("name", "urgent_intervention")),
        horizon_days=_positive(table, "horizon_days", "label"),
        outcomes=tuple(_outcome(item, f"label.outcomes[{i}]") for i, item in enumerate(outcomes)),
    )


def load_feature_config(path: Path | None = None) -> FeatureConfig:
    """Read and validate a feature configuration; None gives the defaults."""
    raw, where = _read_toml(path, "default_features.toml")
    cohort, label = _cohort(raw["cohort"]), _label(raw["label"])
    known = {"days_since_cap", "household", "sources", "status_days"}
    windows = _check_keys(raw["windows"], known, "windows")
    aggregates = raw["aggregate"]
    if not isinstance(aggregates, list):
        raise ConfigError("aggregate: expected a list of [[aggregate]] tables")
    parsed = tuple(_aggregate(item, f"aggregate[{i}]") for i, item in enumerate(aggregates))
    keys = [(a.event_type, a.detail) for a in parsed]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where}: aggregate: an event type and detail is listed twice")
    return FeatureConfig(
        cohort=cohort,
        label=label,
        days_since_cap=_positive(windows, "days_since_cap", "windows"),
        aggregates=parsed,
        household_windows=_windows(windows.get("household", []), "windows.household"),
        source_windows=_windows(windows.get("sources", []), "windows.sources"),
        status_days=_flag(windows, "status_days", "windows"),
    )


def _positive(table: dict[str, Any], key: str, where: str) -> int:
    value = _take(table, key, int, where)
    if value <= 0:
        raise ConfigError(f"{where}.{key}: must be a positive number of days, got {value}")
    return int(value)


@dataclass(frozen=True)
class Necessity:
    """A feature family's legal basis and why it is necessary (``[necessity.FAMILY]``)."""

    basis: str
    statement: str


def load_necessity(path: Path | None = None) -> dict[str, Necessity]:
    """Each feature family's necessity statement from the policy (over the shipped
    drafts). Kept out of ``Policy`` and its digest: rewording a statement changes what an
    agency has on record, not what the features compute."""
    raw, _ = _read_toml(path, "default_policy.toml")
    found = raw.get("necessity", {})
    out = {}
    for family, table in found.items():
        if not isinstance(table, dict) or set(table) != {"basis", "statement"}:
            raise ConfigError(f"necessity.{family}: a table of basis and statement")
        for key in ("basis", "statement"):
            if not isinstance(table[key], str) or not table[key].strip():
                raise ConfigError(f"necessity.{family}.{key}: a non-empty string")
        out[family] = Necessity(table["basis"], table["statement"])
    return out


def check_necessity(families: Iterable[str], statements: Mapping[str, Necessity]) -> None:
    """ConfigError naming every family used without a necessity statement."""
    missing = sorted(set(families) - set(statements))
    if missing:
        raise ConfigError(
            f"necessity: no statement for the feature famil{'y' if len(missing) == 1 else 'ies'} "
            f"{', '.join(missing)}: add [necessity.FAMILY] basis and statement to the policy"
        )


def load_policy(path: Path | None = None) -> Policy:
    """Read and validate a policy; None gives the defaults (5-year retention, no exclusion)."""
    raw, _ = _read_toml(path, "default_policy.toml")
    raw.pop("necessity", None)  # load_necessity's
    retention = _check_keys(
        raw["retention"], {"unsubstantiated_years", "report_link_days"}, "retention"
    )
    features = _check_keys(raw["features"], {"exclude", "association"}, "features")
    exclude = features.get("exclude", [])
    if not isinstance(exclude, list):
        raise ConfigError("features.exclude: expected a list of feature families")
    for family in exclude:
        if family == "ethnicity":
            raise ConfigError("features.exclude: ethnicity is never a feature: nothing to exclude")
        if family not in EXCLUDABLE_FAMILIES:
            raise ConfigError(
                f"features.exclude: {family!r} is not an excludable family "
                f"({', '.join(EXCLUDABLE_FAMILIES)})"
            )
    association = bool(_take(features, "association", bool, "features"))
    if association and "association" in exclude:
        raise ConfigError("features: association = true but 'association' is also excluded")
    return Policy(
        unsubstantiated_retention_years=_positive(retention, "unsubstantiated_years", "retention"),
        report_link_days=_positive(retention, "report_link_days", "retention"),
        exclude=tuple(exclude),
        association=association,
    )
