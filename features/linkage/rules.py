"""The hard non-match rules: what can never be one child, whatever the match weights say.

Fellegi-Sunter weights add up independent agreements, and siblings agree on almost
everything a record holds: surname, guardian, phone, address, district, often the birth
date (twins). A model that sums those agreements merges siblings. These rules say what
two records of one child cannot disagree on; each is a policy switch
(``[rules]`` in default_linkage.toml) and each is checked between whole clusters before
two are joined (``features/linkage/cluster.py``), so that a chain of links can never
carry two siblings into one child either. A pair is the special case of two clusters of
one record.

The rules, with the noise they must tolerate (docs/linkage.md):

- names: given names agree if their pinyin is the same (homophones, traditional forms),
  or if one is a nickname (小涵, 涵涵) whose character sounds like the other's last;
- birth dates: two agree if at most ``birth_days`` apart, a partial date standing for
  every day of its month or year (a date off by one across a month's end still agrees
  with the month), as typed or with day and month swapped;
- ID numbers: two different valid numbers are two people.

A value that is missing agrees with anything: the rules only ever refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from features.linkage.policy import LinkagePolicy

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class NameKey:
    """What the name rule reads of one record's name."""

    given_pinyin: str
    last_pinyin: str | None
    nickname: bool


@dataclass(frozen=True)
class Birth:
    """A birth date at the precision known: ``dayno`` (days since 1970) when full."""

    year: int
    month: int | None = None
    day: int | None = None
    dayno: int | None = None


def names_agree(a: NameKey, b: NameKey) -> bool:
    """Whether two names may be one child's."""
    if a.given_pinyin == b.given_pinyin:
        return True
    if a.nickname or b.nickname:
        return a.last_pinyin is not None and a.last_pinyin == b.last_pinyin
    return False


def births_agree(a: Birth, b: Birth, days: int) -> bool:
    """Whether two birth dates may be one child's (``days``: the tolerance of full dates).

    Each date is the span of days it allows (a full date one day, a year-month its month,
    a year its year); two agree when their spans lie at most ``days`` apart, either as
    typed or with one's day and month swapped (swaps and slips combine across records).
    """
    return any(
        _gap(x, y) <= days
        for x, y in ((a, b), (_swap(a), b), (a, _swap(b)))
        if x is not None and y is not None
    )


def _gap(a: Birth, b: Birth) -> int:
    low_a, high_a = _span(a)
    low_b, high_b = _span(b)
    return max(low_a - high_b, low_b - high_a, 0)


def _span(birth: Birth) -> tuple[int, int]:
    """The first and last day number a birth date at its precision allows."""
    if birth.dayno is not None:
        return birth.dayno, birth.dayno
    if birth.month is None:
        first, after = date(birth.year, 1, 1), date(birth.year + 1, 1, 1)
    else:
        first = date(birth.year, birth.month, 1)
        after = date(birth.year + birth.month // 12, birth.month % 12 + 1, 1)
    return (first - _EPOCH).days, (after - _EPOCH).days - 1


def _swap(birth: Birth) -> Birth | None:
    """The full date with day and month swapped, where that is a date."""
    if birth.month is None or birth.day is None or birth.day > 12 or birth.day == birth.month:
        return None
    try:
        swapped = date(birth.year, birth.day, birth.month)
    except ValueError:
        return None
    return Birth(birth.year, birth.day, birth.month, (swapped - _EPOCH).days)


@dataclass
class Profile:
    """What the rules know of a cluster: its distinct names, birth dates and ID numbers."""

    names: set[NameKey] = field(default_factory=set)
    births: set[Birth] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)

    def copy(self) -> Profile:
        return Profile(set(self.names), set(self.births), set(self.ids))

    def absorb(self, other: Profile) -> None:
        self.names |= other.names
        self.births |= other.births
        self.ids |= other.ids


def may_join(a: Profile, b: Profile, policy: LinkagePolicy) -> bool:
    """Whether two clusters may become one child under the policy's rules."""
    if policy.distinct_id_numbers and len(a.ids | b.ids) > 1:
        return False
    if policy.names_must_agree and not all(names_agree(x, y) for x in a.names for y in b.names):
        return False
    return not policy.birth_dates_must_agree or all(
        births_agree(x, y, policy.birth_days) for x in a.births for y in b.births
    )
