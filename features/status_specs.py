"""The status features: a child's circumstances on the as-of date (left-behind, dibao,
parents away or deceased, disability, schooling, an open case, the guardian), derived
from the events recorded by then (``features.statuses`` computes them), described here
for people, with the groups whose latest event decides each and the "days since set"
features read from those groups.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from features import schema as s
from features.feature_spec import UNITS, FeatureSpec
from features.vocabulary import DETAIL_LABELS, Label, status_days_words


def _status(
    name: str,
    en: str,
    zh: str,
    sources: tuple[str, ...],
    family: str,
    unit: tuple[str, str] = ("yes/no", "是/否"),
    categories: tuple[str, ...] | None = None,
) -> FeatureSpec:
    return FeatureSpec(
        name=name,
        description_en=en,
        description_zh=zh,
        sources=sources,
        window=None,
        unit_en=unit[0],
        unit_zh=unit[1],
        family=family,
        kind="status",
        categories=categories,
    )


PARENT = ("community.parent_status",)
AWAY_STATUSES: Final = ("migrated", "incarcerated", "ill_or_disabled", "drug_rehab", "contact_lost")
# the statuses decided by the latest event of a group (features.statuses.LATEST_OF), and
# each one's group; "days since the status was last set" reads the same running maximum
STATUS_GROUPS: Final = {
    "status__left_behind": "__left_behind",
    "status__dibao": "__dibao",
    "status__open_case": "__open_case",
    "status__school": "__school",
    "status__guardian": "__guardian",
    **{f"status__parent_{code}": f"__parent_{code}" for code in AWAY_STATUSES},
}
STATUS_DAYS: Final = "__days"  # status__dibao__days: days since status__dibao was last set


def group_of(spec: FeatureSpec) -> str:
    """The group whose latest event decides a status, or gives its days since set."""
    return STATUS_GROUPS[spec.name.removesuffix(STATUS_DAYS)]


def status_days_specs(statuses: list[FeatureSpec], cap: int) -> list[FeatureSpec]:
    """Days since each status decided by a latest event was last set (whichever way):
    from its group's events, so of its family (excluding poverty drops dibao's)."""
    specs = []
    for spec in statuses:
        if spec.name in STATUS_GROUPS:
            words = status_days_words(Label(spec.description_en, spec.description_zh), cap)
            unit_en, unit_zh = UNITS["days_since"]
            name = f"{spec.name}{STATUS_DAYS}"
            specs.append(
                replace(spec, name=name, description_en=words.en, description_zh=words.zh,
                        unit_en=unit_en, unit_zh=unit_zh, kind="status_days", categories=None)
            )  # fmt: skip
    return specs


def status_specs() -> list[FeatureSpec]:
    """Status on the as-of date, derived from the events recorded by then."""
    count_unit = ("parents", "人")
    specs = [
        _status(
            "status__left_behind",
            "Registered as a left-behind child",
            "登记为留守儿童",
            ("community.left_behind_registered", "community.left_behind_ended"),
            "community",
        ),
        _status(
            "status__unattended",
            "Registered as a de facto unattended child",
            "登记为事实无人抚养儿童",
            ("community.unattended_registered",),
            "community",
        ),
        _status(
            "status__parents_deceased",
            "Parents recorded as deceased (0-2)",
            "已故父母人数（0-2）",
            PARENT,
            "community",
            count_unit,
        ),
        _status(
            "status__orphan",
            "Orphan: both parents recorded as deceased",
            "孤儿：父母双方均已故",
            PARENT,
            "community",
        ),
        _status(
            "status__parents_away",
            "Parents currently away (migrated, incarcerated, ill, in rehab or out of contact; 0-2)",
            "目前不在身边的父母人数（外出、服刑、重病、戒毒或失联；0-2）",
            PARENT,
            "community",
            count_unit,
        ),
    ]
    for code in AWAY_STATUSES:
        label = DETAIL_LABELS[code]
        specs.append(
            _status(
                f"status__parent_{code}",
                f"A parent's latest recorded status is: {label.en}",
                f"父母一方最近记录的状况为：{label.zh}",
                PARENT,
                "community",
            )
        )
    specs += [
        _status(
            "status__dibao",
            "Family on dibao (minimum living allowance)",
            "家庭享受低保",
            ("social_aid.dibao_start", "social_aid.dibao_end"),
            "poverty",
        ),
        _status(
            "status__disabled",
            "Disability certified",
            "已认定残疾",
            ("health.disability_certified",),
            "disability",
        ),
        _status(
            "status__disability_level",
            "Certified disability level (1 most severe - 4; 0 if none)",
            "残疾等级（1级最重至4级；无为0）",
            ("health.disability_certified",),
            "disability",
            ("level", "级"),
        ),
        _status(
            "status__school",
            "Schooling: enrolled, dropped out, or no record",
            "就学状况：在读、辍学或无记录",
            ("education.enrolled", "education.dropout"),
            "education",
            ("category", "类别"),
            ("none", "enrolled", "dropped_out"),
        ),
        _status(
            "status__open_case",
            "An open welfare case",
            "有未结福利个案",
            ("welfare.case_opened", "welfare.case_closed"),
            "welfare",
        ),
        _status(
            "status__guardian",
            "Current guardian (parent unless a change was recorded)",
            "现监护人（无变更记录时为父母）",
            ("welfare.guardianship_change",),
            "welfare",
            ("category", "类别"),
            s.GUARDIANS,
        ),
    ]
    return specs
