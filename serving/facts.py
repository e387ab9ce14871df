"""A feature's value said as a fact about the child, with its unit: "Concern reports in
the last 30 days: 2", "Aged 1", "At least one record of welfare cases opened".

Why a module of its own: caseworkers read a factor's *name* ("Age in whole years on the
as-of date", "No welfare cases opened ever recorded") beside a bare value ("1", "no") and
found the two contradicting each other and the records below them. A fact says the value
in the words of its feature, so the sentence, the value and the records agree by
construction: a "never" feature whose value is false is "at least one record of X" (and
has records behind it), one whose value is true is "no X ever recorded" (and has none).

How: one sentence pattern per feature kind of features.registry, in English and
Simplified Chinese, numbers and dates in the language's format (serving.i18n.Formats),
categories in words (features.vocabulary.CATEGORY_LABELS), a severity with its scale
(the contract's catalogue, features.schema.CATALOGUE). ``retention_note`` says where the
retention policy makes a count lower than the records a case history lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from features import schema as s
from features.config import Policy
from features.registry import FeatureSpec
from features.status_specs import STATUS_DAYS, status_specs
from features.vocabulary import CATEGORY_LABELS, CATEGORY_NAMES, Label, subject, window_words
from serving.i18n import Formats, Language

RETAINED: Final = ("report.concern", "welfare.finding")  # features.retention's event types
ZH_UNITS: Final = {"缺课天数": "天"}  # a unit said after a number in Chinese
STATUSES: Final = {spec.name: spec for spec in status_specs()}

Sayer = Callable[[FeatureSpec, Any, "Words"], str]


class Words:
    """What a fact needs besides the spec and the value: the language, its formats and
    the recency cap (a "days since" at the cap means none in that many days)."""

    def __init__(self, language: Language, cap: int) -> None:
        self.language, self.cap, self.fmt = language, cap, Formats(language)

    @property
    def zh(self) -> bool:
        return self.language == "zh-CN"

    def pick(self, label: Label) -> str:
        return label.zh if self.zh else label.en

    def number(self, value: float | int) -> str:
        whole = float(value).is_integer()
        return self.fmt.number(value, 0 if whole else 1)

    def said(self, en: str, zh: str) -> str:
        return zh if self.zh else en[:1].upper() + en[1:]


def fact(spec: FeatureSpec, value: Any, language: Language, cap: int) -> str:
    """``spec``'s ``value`` as a sentence in ``language``; ``cap`` is the feature
    configuration's ``days_since_cap``. A missing value is said as "not recorded"."""
    words = Words(language, cap)
    if value is None:
        return f"{_name(spec, words)}{'：未记录' if words.zh else ': not recorded'}"
    return SAYERS.get(spec.kind, _plain)(spec, value, words)


def _what(spec: FeatureSpec, words: Words) -> str:
    return words.pick(subject(spec.sources[0], spec.detail))


def _within(spec: FeatureSpec, words: Words) -> str:
    return words.pick(window_words(spec.window)) if spec.window is not None else ""


def _name(spec: FeatureSpec, words: Words) -> str:
    if spec.name in CATEGORY_NAMES:
        return words.pick(CATEGORY_NAMES[spec.name])
    return spec.description_zh if words.zh else spec.description_en


def _count(spec: FeatureSpec, value: Any, words: Words) -> str:
    n, what, within = words.number(value), _what(spec, words), _within(spec, words)
    return words.said(f"{what} {within}: {n}", f"{within}{what}：{n}次")


def _severity(spec: FeatureSpec, value: Any, words: Words) -> str:
    low, high = s.CATALOGUE[spec.sources[0]].severity or (0, 3)
    what, within, n = _what(spec, words), _within(spec, words), words.number(value)
    return words.said(
        f"highest severity of {what} {within}: {n} (on a scale of {low} to {high}, "
        f"{high} the most serious)",
        f"{within}{what}最高严重程度：{n}级（{low}至{high}级，{high}级最严重）",
    )


def _amount(spec: FeatureSpec, value: Any, words: Words) -> str:
    what, within, n = _what(spec, words), _within(spec, words), words.number(value)
    unit = ZH_UNITS.get(spec.unit_zh, spec.unit_zh)
    return words.said(f"{what} {within}: {n} {spec.unit_en}", f"{within}{what}：共{n}{unit}")


def _days_since(spec: FeatureSpec, value: Any, words: Words) -> str:
    what, n, cap = _what(spec, words), words.number(value), words.number(words.cap)
    if value >= words.cap:
        return words.said(f"no {what} in the last {cap} days", f"近{cap}天内无{what}记录")
    return words.said(
        f"the latest of {what}: {n} days before the scoring date",
        f"最近一次{what}：评估日前{n}天",
    )


def _never(spec: FeatureSpec, value: Any, words: Words) -> str:
    what = _what(spec, words)
    if value:
        return words.said(f"no {what} ever recorded", f"从未有{what}记录")
    return words.said(f"at least one record of {what}", f"曾有{what}记录")


def _decayed(spec: FeatureSpec, value: Any, words: Words) -> str:
    what, n, days = _what(spec, words), words.number(value), spec.half_life_days
    return words.said(
        f"{what} in all recorded history, each counted less as it ages (half after "
        f"{days} days): {n}",
        f"全部历史记录中{what}按时间加权（{days}天前的计一半）：{n}次",
    )


def _trend(spec: FeatureSpec, value: Any, words: Words) -> str:
    what, n = _what(spec, words), words.number(abs(value))
    if value == 0:
        return words.said(f"{what}: as many as before", f"{what}：与此前持平")
    more = value > 0
    return words.said(
        f"{what}: {n} {'more' if more else 'fewer'} per 90 days in the last 90 days than "
        "in the 275 days before",
        f"{what}：近90天比此前275天每90天{'多' if more else '少'}{n}次",
    )


def _sources(spec: FeatureSpec, value: Any, words: Words) -> str:
    n, within = words.number(value), _within(spec, words)
    return words.said(
        f"source systems with a record {within}: {n}", f"{within}有记录的来源系统：{n}个"
    )


def _status(spec: FeatureSpec, value: Any, words: Words) -> str:
    if isinstance(value, bool):
        name = _name(spec, words)
        return name if value else f"{name}{'：否' if words.zh else ': no'}"
    if isinstance(value, str):
        return _category(spec, value, words)
    unit = f"{spec.unit_zh}" if words.zh else ""
    return f"{_name(spec, words)}{'：' if words.zh else ': '}{words.number(value)}{unit}"


def _category(spec: FeatureSpec, value: str, words: Words) -> str:
    label = CATEGORY_LABELS.get(spec.name, {}).get(value)
    said = words.pick(label) if label else value
    return f"{_name(spec, words)}{'：' if words.zh else ': '}{said}"


def _status_days(spec: FeatureSpec, value: Any, words: Words) -> str:
    status = STATUSES[spec.name.removesuffix(STATUS_DAYS)]
    name, n, cap = _name(status, words), words.number(value), words.number(words.cap)
    if value >= words.cap:
        return words.said(
            f"{name}: not set or ended in the last {cap} days", f"{name}：近{cap}天内无变化记录"
        )
    return words.said(
        f"{name}: last set or ended {n} days before the scoring date",
        f"{name}：最近一次设立或终止在评估日前{n}天",
    )


def _static(spec: FeatureSpec, value: Any, words: Words) -> str:
    if spec.name == "age_years":
        return f"{words.number(value)}岁" if words.zh else f"Aged {words.number(value)}"
    return _category(spec, str(value), words)


def _plain(spec: FeatureSpec, value: Any, words: Words) -> str:
    said = words.number(value) if isinstance(value, int | float) else str(value)
    return f"{_name(spec, words)}{'：' if words.zh else ': '}{said}"


SAYERS: Final[dict[str, Sayer]] = {
    "count": _count,
    "household": _plain,
    "max_severity": _severity,
    "sum_amount": _amount,
    "days_since": _days_since,
    "never": _never,
    "decayed": _decayed,
    "trend": _trend,
    "sources": _sources,
    "status": _status,
    "status_days": _status_days,
    "static": _static,
}


def retention_note(spec: FeatureSpec, policy: Policy, language: Language) -> str | None:
    """Why a count of reports or findings can be lower than the case history's list:
    the retention policy (features.retention), said where it applies, else None."""
    if not set(spec.sources) & set(RETAINED) or spec.kind in ("static", "status"):
        return None
    years = policy.unsubstantiated_retention_years
    if language == "zh-CN":
        return (
            f"未查实的调查结论及其所涉关注报告，{years}年后不再计入（保留政策），"
            "因此这里的计数可能少于个案历史中列出的记录。"
        )
    return (
        f"An unsubstantiated finding, and the concern reports behind it, stop counting "
        f"{years} years on (the retention policy), so this count can be lower than the "
        "records the case history lists."
    )
