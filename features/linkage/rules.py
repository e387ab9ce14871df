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
- birth dates: two full dates agree if equal, day and month swapped, or at most
  ``birth_days`` apart; a partial date agrees with any date in its year (and month);
- ID numbers: two different valid numbers are two people.

A value that is missing agrees with anything: the rules only ever refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

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
    """Whether two birth dates may be one child's (``days``: the tolerance of full dates)."""
    if a.dayno is not None and b.dayno is not None:
        return abs(a.dayno - b.dayno) <= days or _swapped(a, b)
    if abs(a.year - b.year) > 1:
        return False
    if a.year != b.year:
        return _near_year_end(a, b, days)
    if a.month is None or b.month is None or a.month == b.month:
        return True
    return _swapped(a, b)


def _swapped(a: Birth, b: Birth) -> bool:
    return (
        a.year == b.year
        and a.month is not None
        and b.month is not None
        and (a.month == b.day or b.month == a.day)
        and (a.day is None or b.day is None or (a.day == b.month and b.day == a.month))
    )


def _near_year_end(a: Birth, b: Birth, days: int) -> bool:
    """A full date within ``days`` of the other's year boundary (31 Dec vs 1 Jan)."""
    full = a if a.dayno is not None else b
    other = b if full is a else a
    if full.dayno is None:
        return False
    when = _EPOCH + timedelta(days=full.dayno)
    boundary = date(max(when.year, other.year), 1, 1)
    return abs((when - boundary).days) <= days


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
