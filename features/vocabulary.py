"""Plain-language names of event kinds, source systems and codes, in English and
Simplified Chinese.

Feature descriptions, explanations and the caseworkers' pages read these; a test checks
that every event type, source system and detail code of the contract has both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple


class Label(NamedTuple):
    en: str
    zh: str


EVENT_LABELS: Final[dict[str, Label]] = {
    "report.concern": Label("concern reports", "关注报告"),
    "welfare.investigation_opened": Label("investigations opened", "启动调查"),
    "welfare.finding": Label("investigation findings", "调查结论"),
    "welfare.case_opened": Label("welfare cases opened", "福利个案立案"),
    "welfare.case_closed": Label("welfare cases closed", "福利个案结案"),
    "welfare.emergency_removal": Label("emergency removals", "紧急带离"),
    "welfare.foster_placement": Label("foster placements", "家庭寄养安置"),
    "welfare.institution_placement": Label("institution placements", "机构安置"),
    "welfare.reunification": Label("family reunifications", "回归家庭"),
    "welfare.adoption": Label("adoptions", "收养"),
    "welfare.guardianship_change": Label("guardianship changes", "监护人变更"),
    "community.home_visit": Label("child director home visits", "儿童主任家访"),
    "community.parent_status": Label("parent status updates", "父母状况变更"),
    "community.left_behind_registered": Label("left-behind registrations", "留守儿童登记"),
    "community.left_behind_ended": Label("left-behind registrations ended", "留守儿童登记终止"),
    "community.unattended_registered": Label(
        "de facto unattended registrations", "事实无人抚养儿童登记"
    ),
    "social_aid.dibao_start": Label("dibao (minimum living allowance) starts", "低保开始"),
    "social_aid.dibao_end": Label("dibao (minimum living allowance) ends", "低保终止"),
    "social_aid.temporary_assistance": Label("temporary assistance", "临时救助"),
    "social_aid.employment_support": Label("employment support", "就业帮扶"),
    "social_aid.housing_support": Label("housing support", "住房保障"),
    "philanthropy.aid": Label("charitable aid", "慈善救助"),
    "education.enrolled": Label("school enrolments", "入学"),
    "education.absence": Label("school absences", "缺课"),
    "education.dropout": Label("school dropouts", "辍学"),
    "health.visit": Label("health visits", "就诊"),
    "health.injury": Label("injuries", "受伤"),
    "health.malnutrition": Label("malnutrition records", "营养不良记录"),
    "health.disability_certified": Label("disability certifications", "残疾认定"),
    "health.mental_health": Label("mental health records", "心理健康记录"),
    "police.missing_report": Label("missing-child reports", "儿童失踪报案"),
    "police.found": Label("missing child found", "失踪儿童找回"),
    "police.street_child_found": Label("found as a street child", "发现流浪儿童"),
    "police.domestic_violence_call": Label("domestic violence calls", "家庭暴力报警"),
    "police.rescue": Label("rescues from abduction or trafficking", "被拐儿童解救"),
}

SOURCE_LABELS: Final[dict[str, Label]] = {
    "report": Label("mandatory reports", "强制报告"),
    "welfare": Label("welfare casework", "福利个案工作"),
    "community": Label("community child director", "社区儿童主任"),
    "social_aid": Label("social aid", "社会救助"),
    "education": Label("school", "学校"),
    "health": Label("health", "卫生健康"),
    "police": Label("police", "公安"),
    "philanthropy": Label("philanthropy", "慈善"),
}

DETAIL_LABELS: Final[dict[str, Label]] = {
    # reporters
    "school": Label("by a school", "学校报告"),
    "kindergarten": Label("kindergarten", "幼儿园"),
    "hospital": Label("by a hospital", "医院报告"),
    "police": Label("by the police", "公安报告"),
    "neighbor": Label("by a neighbour", "邻居报告"),
    "family": Label("by family", "家人报告"),
    "community": Label("by the community", "社区报告"),
    "hotline": Label("through the hotline", "热线报告"),
    "other": Label("other", "其他"),
    # allegations
    "neglect": Label("neglect", "疏忽照料"),
    "physical": Label("physical", "身体"),
    "sexual": Label("sexual abuse", "性侵害"),
    "emotional": Label("emotional abuse", "精神伤害"),
    "abandonment": Label("abandonment", "遗弃"),
    "exploitation": Label("exploitation", "剥削"),
    # findings
    "substantiated": Label("substantiated", "查实"),
    "unsubstantiated": Label("unsubstantiated", "未查实"),
    "inconclusive": Label("inconclusive", "无法确定"),
    # guardians
    "parent": Label("parent", "父母"),
    "grandparent": Label("grandparent", "祖父母"),
    "relative": Label("other relative", "其他亲属"),
    "state": Label("the state", "国家监护"),
    # parent statuses
    "migrated": Label("migrated for work", "外出务工"),
    "returned": Label("returned", "返乡"),
    "deceased": Label("deceased", "死亡"),
    "incarcerated": Label("incarcerated", "服刑在押"),
    "ill_or_disabled": Label("seriously ill or disabled", "重病或重残"),
    "drug_rehab": Label("in compulsory drug rehabilitation", "强制隔离戒毒"),
    "contact_lost": Label("contact lost", "失联"),
    # school levels
    "primary": Label("primary school", "小学"),
    "secondary": Label("secondary school", "中学"),
    "vocational": Label("vocational school", "职业学校"),
    # injury kinds
    "accidental": Label("accidental", "意外"),
    "suspicious": Label("suspicious", "可疑"),
    "unknown": Label("cause unknown", "原因不明"),
    # disability kinds
    "intellectual": Label("intellectual", "智力"),
    "visual": Label("visual", "视力"),
    "hearing": Label("hearing", "听力"),
    "speech": Label("speech", "言语"),
    "mental": Label("mental", "精神"),
    "multiple": Label("multiple", "多重"),
    # employment support (contract 1.1)
    "job_referral": Label("job referral", "就业推荐"),
    "vocational_training": Label("vocational training", "职业技能培训"),
    "wage_subsidy": Label("wage subsidy", "就业补贴"),
    # housing support (contract 1.1)
    "rent_subsidy": Label("rent subsidy", "租赁补贴"),
    "public_rental": Label("public rental housing", "公租房"),
    "repair": Label("home repair", "危房改造"),
    # charitable aid (contract 1.1)
    "basic_living": Label("basic living", "基本生活"),
    "medical": Label("medical care", "医疗"),
    "education": Label("education", "教育"),
    "employment": Label("employment", "就业"),
    "housing": Label("housing", "住房"),
}


# ---- the sentences of feature descriptions built from these names -------------------


def window_words(window: int | str) -> Label:
    """A window in words: "in the last w days", or "in all recorded history"."""
    if window == "all":
        return Label("in all recorded history", "全部历史记录中")
    return Label(f"in the last {window} days", f"近{window}天内")


def subject(event_type: str, detail: str | None) -> Label:
    """An event type in words, with its detail code when one is given."""
    label = EVENT_LABELS[event_type]
    if detail is None:
        return label
    code = DETAIL_LABELS[detail]
    return Label(f"{label.en} ({code.en})", f"{label.zh}（{code.zh}）")


STAT_WORDS: Final = {
    "count": Label("Number of {what} {within}", "{within}{what}次数"),
    "max_severity": Label("Highest severity of {what} {within}", "{within}{what}最高严重程度"),
    "sum_amount": Label("Total amount of {what} {within}", "{within}{what}总量"),
}


def stat_words(stat: str, what: Label, window: int | str) -> Label:
    """A count, highest severity or total amount of ``what`` in ``window``."""
    within = window_words(window)
    words = STAT_WORDS[stat]
    return Label(
        words.en.format(what=what.en, within=within.en),
        words.zh.format(what=what.zh, within=within.zh),
    )


def recency_words(what: Label, cap: int) -> tuple[Label, Label]:
    """Days since the last of ``what`` (saturating at ``cap``), and "never recorded"."""
    return (
        Label(
            f"Days since the last of {what.en} (at most {cap}; {cap} if never)",
            f"距最近一次{what.zh}的天数（最多{cap}天；从未发生记为{cap}）",
        ),
        Label(f"No {what.en} ever recorded", f"从未有{what.zh}记录"),
    )


def decayed_words(what: Label, half_life: int) -> Label:
    """A recency-weighted count of ``what`` over the whole history."""
    later = 2 * half_life
    return Label(
        f"Number of {what.en} in all recorded history, weighted by age "
        f"(1 when new, 1/2 after {half_life} days, 1/4 after {later})",
        f"全部历史记录中{what.zh}按时间加权的次数"
        f"（新近的计1次，{half_life}天前的计1/2次，{later}天前的计1/4次）",
    )


def trend_words(what: Label, recent: int, before: int) -> Label:
    """The last ``recent`` days' count of ``what`` against the pace of the ``before``
    days before them."""
    return Label(
        f"Pace of {what.en}: number in the last {recent} days less the number in the "
        f"{before} days before, scaled to {recent} days (above 0: more than before)",
        f"{what.zh}增势：近{recent}天内次数减去此前{before}天次数按{recent}天折算之数"
        "（大于0：多于此前）",
    )


def sources_words(window: int | str, systems: Sequence[str]) -> Label:
    """How many of the source systems ``systems`` hold a record in ``window``."""
    within = window_words(window)
    names = [SOURCE_LABELS[system] for system in systems]
    return Label(
        f"Number of source systems with a record {within.en} "
        f"(of {', '.join(name.en for name in names)})",
        f"{within.zh}有记录的来源系统数（{'、'.join(name.zh for name in names)}）",
    )


def status_days_words(status: Label, cap: int) -> Label:
    """Days since the latest record deciding ``status`` (set or ended), saturating at
    ``cap`` as the other "days since" features do."""
    return Label(
        f"Days since the status was last set (its latest record, either way): {status.en} "
        f"(at most {cap}; {cap} if never recorded)",
        f"距该状况最近一次记录（设立或终止）的天数：{status.zh}（最多{cap}天；从未记录记为{cap}）",
    )


# ---- the values of categorical features, and each one's short name ---------------------

# feature -> its short name, for "Current guardian: grandparent" (a test checks every
# categorical feature of the registry has one, and words for each of its categories)
CATEGORY_NAMES: Final[dict[str, Label]] = {
    "sex": Label("Sex", "性别"),
    "area": Label("Area", "所在区域"),
    "hukou": Label("Household registration (hukou)", "户籍"),
    "status__school": Label("Schooling", "就学状况"),
    "status__guardian": Label("Current guardian", "现监护人"),
}
CATEGORY_LABELS: Final[dict[str, dict[str, Label]]] = {
    "sex": {
        "F": Label("female", "女"),
        "M": Label("male", "男"),
        "U": Label("not recorded", "未登记"),
    },
    "area": {
        "core": Label("core districts", "核心区"),
        "inner": Label("inner districts", "城六区"),
        "outlying": Label("outlying districts", "郊区"),
    },
    "hukou": {
        "local": Label("local", "本地户籍"),
        "nonlocal": Label("non-local", "非本地户籍"),
        "none": Label("none", "无户籍"),
        "unknown": Label("not known", "户籍不详"),
    },
    "status__school": {
        "none": Label("no school record", "无就学记录"),
        "enrolled": Label("enrolled", "在读"),
        "dropped_out": Label("dropped out", "已辍学"),
    },
    "status__guardian": {
        "parent": Label("parent", "父母"),
        "grandparent": Label("grandparent", "祖父母"),
        "relative": Label("other relative", "其他亲属"),
        "state": Label("the state", "国家监护"),
        "other": Label("other", "其他"),
    },
}
