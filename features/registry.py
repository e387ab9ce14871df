"""The feature registry: every column of the feature table, described for people.

Each entry (``features.feature_spec.FeatureSpec``) names the feature, says what it is in
English and Simplified Chinese, lists the event types it is computed from, its window and
unit, and its family (what a policy may exclude); the statuses' entries are in
``features.status_specs``. Explanations and the caseworkers' pages read descriptions
from here; the evidence finder reads the predicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from features import schema as s
from features.config import Aggregate, FeatureConfig, Policy, Window
from features.deployment import AREAS
from features.feature_spec import UNITS, Kind
from features.feature_spec import FeatureSpec as FeatureSpec  # noqa: PLC0414 (re-export)
from features.status_specs import status_days_specs, status_specs
from features.vocabulary import (
    decayed_words,
    recency_words,
    sources_words,
    stat_words,
    subject,
    trend_words,
    window_words,
)

MENTAL_HEALTH: Final = "health.mental_health"
FAMILY_OF_SOURCE: Final = {
    "report": "reports",
    "welfare": "welfare",
    "community": "community",
    "social_aid": "poverty",
    "education": "education",
    "health": "health",
    "police": "police",
    "philanthropy": "poverty",  # charities' aid: like social aid, a marker of need
}
TREND_RECENT_DAYS: Final = 90  # a trend compares the count of the last 90 days ...
TREND_SPAN_DAYS: Final = 365  # ... with that of the 275 days before, scaled to 90 days
SOURCES_FAMILY: Final = "sources"  # its events' own families decide which count (policy)


def family_of(event_type: str) -> str:
    """The feature family of an event type: its source's, except disability and mental
    health records, each a sensitive family of its own that a policy may exclude."""
    if event_type == "health.disability_certified":
        return "disability"
    if event_type == MENTAL_HEALTH:
        return "mental_health"
    return FAMILY_OF_SOURCE[source_of(event_type)]


def stem(event_type: str, detail: str | None) -> str:
    base = event_type.replace(".", "_")
    return f"{base}__{detail}" if detail else base


def window_suffix(window: Window) -> str:
    return "all" if window == "all" else f"{window}d"


def source_of(event_type: str) -> str:
    """The source system of an event type (the part of its name before the dot)."""
    return s.CATALOGUE[event_type].source


def _spec(
    aggregate: Aggregate,
    suffix: str,
    text: tuple[str, str],
    window: Window,
    unit: tuple[str, str],
    kind: Kind,
    half_life: int | None = None,
) -> FeatureSpec:
    """A feature of one ``[[aggregate]]``'s event type (and detail, if given)."""
    event_type, detail = aggregate.event_type, aggregate.detail
    return FeatureSpec(
        name=f"{stem(event_type, detail)}__{suffix}",
        description_en=text[0],
        description_zh=text[1],
        sources=(event_type,),
        window=window,
        unit_en=unit[0],
        unit_zh=unit[1],
        family=family_of(event_type),
        kind=kind,
        detail=detail,
        half_life_days=half_life,
    )


def _aggregate_specs(aggregate: Aggregate, config: FeatureConfig) -> list[FeatureSpec]:
    """One aggregate's features: its windows' statistics, its recency, then the weight
    and the pace of its history."""
    return (
        _window_specs(aggregate)
        + _recency_specs(aggregate, config.days_since_cap)
        + _history_specs(aggregate)
    )


def _window_specs(aggregate: Aggregate) -> list[FeatureSpec]:
    what = subject(aggregate.event_type, aggregate.detail)
    amounts = ("days absent", "缺课天数") if aggregate.event_type == "education.absence" else None
    specs = []
    for stat, windows in (
        ("count", aggregate.count),
        ("max_severity", aggregate.max_severity),
        ("sum_amount", aggregate.sum_amount),
    ):
        unit = (amounts or ("yuan", "元")) if stat == "sum_amount" else UNITS[stat]
        for window in windows:
            text = stat_words(stat, what, window)
            suffix = f"{stat}_{window_suffix(window)}"
            specs.append(_spec(aggregate, suffix, text, window, unit, stat))  # type: ignore[arg-type]
    return specs


def _recency_specs(aggregate: Aggregate, cap: int) -> list[FeatureSpec]:
    if not aggregate.days_since:
        return []
    since, never = recency_words(subject(aggregate.event_type, aggregate.detail), cap)
    return [
        _spec(aggregate, "days_since_last", since, "all", UNITS["days_since"], "days_since"),
        _spec(aggregate, "never", never, "all", UNITS["never"], "never"),
    ]


def _history_specs(aggregate: Aggregate) -> list[FeatureSpec]:
    """Recency-weighted counts of the whole history (one per half-life), and the pace of
    the last 90 days against the 275 before (features.plan says how each is computed)."""
    what = subject(aggregate.event_type, aggregate.detail)
    specs = [
        _spec(aggregate, f"decayed_{days}d", decayed_words(what, days), "all",
              UNITS["decayed"], "decayed", days)
        for days in aggregate.decayed
    ]  # fmt: skip
    if aggregate.trend:
        recent, span = TREND_RECENT_DAYS, TREND_SPAN_DAYS
        text = trend_words(what, recent, span - recent)
        specs.append(_spec(aggregate, f"trend_{recent}d", text, span, UNITS["trend"], "trend"))
    return specs


def source_specs(config: FeatureConfig, policy: Policy) -> list[FeatureSpec]:
    """How many source systems hold a record of the child, per window. Only the events
    of families the policy allows count: excluding poverty takes social aid out, and
    excluding disability the health system's disability certifications."""
    types = tuple(t for t in s.EVENT_TYPES if policy.allows(family_of(t)))
    systems = tuple(dict.fromkeys(source_of(t) for t in types))
    return [
        FeatureSpec(
            name=f"sources__distinct_{window_suffix(window)}",
            description_en=sources_words(window, systems).en,
            description_zh=sources_words(window, systems).zh,
            sources=types,
            window=window,
            unit_en=UNITS["sources"][0],
            unit_zh=UNITS["sources"][1],
            family=SOURCES_FAMILY,
            kind="sources",
        )
        for window in config.source_windows
    ]


def static_specs() -> list[FeatureSpec]:
    def static(
        name: str, en: str, zh: str, family: str, unit: tuple[str, str], cats: Any = None
    ) -> FeatureSpec:
        return FeatureSpec(
            name, en, zh, (), None, unit[0], unit[1], family, "static", categories=cats
        )

    return [
        static(
            "age_years", "Age in whole years on the as-of date", "截至评估日的周岁年龄",
            "demographics", ("years", "岁"),
        ),
        static("sex", "Sex as recorded", "登记性别", "sex", ("category", "类别"), s.SEX_VALUES),
        static(
            "area", "Area of the district (core, inner, outlying)",
            "所在区域（核心区、城六区、郊区）", "area", ("category", "类别"),
            AREAS,
        ),
        static(
            "hukou", "Household registration (hukou)", "户籍状况", "hukou",
            ("category", "类别"), s.HUKOU_VALUES,
        ),
    ]  # fmt: skip


HOUSEHOLD_SOURCES: Final = (("report.concern", None), ("welfare.finding", "substantiated"))


def household_specs(config: FeatureConfig) -> list[FeatureSpec]:
    """Siblings' reports and findings: association features, on only by policy."""
    specs = []
    for event_type, detail in HOUSEHOLD_SOURCES:
        en, zh = subject(event_type, detail)
        for window in config.household_windows:
            w_en, w_zh = window_words(window)
            specs.append(
                FeatureSpec(
                    name=f"household__{stem(event_type, detail)}__count_{window_suffix(window)}",
                    description_en=f"Association: siblings' {en} {w_en}",
                    description_zh=f"关联特征：兄弟姐妹{w_zh}的{zh}次数",
                    sources=(event_type,),
                    window=window,
                    unit_en="events",
                    unit_zh="次",
                    family="association",
                    kind="household",
                    detail=detail,
                    association=True,
                )
            )
    return specs


@dataclass(frozen=True)
class Registry:
    specs: tuple[FeatureSpec, ...]

    def __getitem__(self, name: str) -> FeatureSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [spec.to_dict() for spec in self.specs]


def build_registry(config: FeatureConfig, policy: Policy) -> Registry:
    """Every feature the configuration asks for and the policy allows, in table order."""
    statuses = status_specs()
    specs = static_specs() + statuses
    if config.status_days:
        specs += status_days_specs(statuses, config.days_since_cap)
    for aggregate in config.aggregates:
        specs += _aggregate_specs(aggregate, config)
    specs += source_specs(config, policy)
    specs += household_specs(config)
    return Registry(tuple(spec for spec in specs if policy.allows(spec.family)))
