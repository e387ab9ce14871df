"""The hard non-match rules: what noise they tolerate, and what they refuse."""

from __future__ import annotations

from datetime import date

import pytest

from features.linkage.policy import LinkagePolicy
from features.linkage.rules import Birth, NameKey, Profile, births_agree, may_join, names_agree


def _day(year: int, month: int, day: int) -> Birth:
    return Birth(year, month, day, (date(year, month, day) - date(1970, 1, 1)).days)


def _name(given: str, last: str, nickname: bool = False) -> NameKey:
    return NameKey(given, last, nickname)


def test_homophones_agree_twins_do_not() -> None:
    assert names_agree(_name("wei", "wei"), _name("wei", "wei"))
    # twins 子涵 / 子轩: one character shared, given names differ
    assert not names_agree(_name("zihan", "han"), _name("zixuan", "xuan"))
    # siblings sharing the last character are still different children
    assert not names_agree(_name("zihan", "han"), _name("yuhan", "han"))


def test_a_nickname_agrees_on_its_last_character_only() -> None:
    assert names_agree(_name("han", "han", nickname=True), _name("zihan", "han"))
    assert not names_agree(_name("han", "han", nickname=True), _name("zixuan", "xuan"))


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        (_day(2015, 3, 5), _day(2015, 3, 5), True),
        (_day(2015, 3, 5), _day(2015, 5, 3), True),  # day and month swapped
        (_day(2015, 3, 5), _day(2015, 3, 6), True),  # off by one day
        (_day(2015, 12, 31), _day(2016, 1, 1), True),  # across the year
        (_day(2015, 3, 5), _day(2017, 3, 5), False),  # a sibling two years younger
        (_day(2015, 3, 5), _day(2015, 3, 20), False),
        (Birth(2015, 3), _day(2015, 3, 28), True),  # year-month only
        (Birth(2015, 3), _day(2015, 5, 3), True),  # year-month against a swapped date
        (Birth(2015, 3), Birth(2015, 5), False),
        (Birth(2015, 8), _day(2015, 9, 1), True),  # off by one across the month's end
        (_day(2015, 8, 3), _day(2015, 3, 9), True),  # swapped in one record, a slip in the other
        (Birth(2015, 12), _day(2016, 1, 2), True),
        (Birth(2015), _day(2015, 11, 2), True),  # year only
        (Birth(2015), Birth(2017), False),
        (Birth(2016), _day(2015, 12, 30), True),  # a year against a date at its edge
        (Birth(2016), _day(2015, 6, 30), False),
    ],
)
def test_birth_dates(a: Birth, b: Birth, agree: bool) -> None:
    assert births_agree(a, b, days=3) is agree
    assert births_agree(b, a, days=3) is agree


def test_clusters_join_only_when_every_pair_agrees() -> None:
    policy = LinkagePolicy()
    twin_a = Profile({_name("zihan", "han")}, {_day(2015, 3, 5)}, set())
    twin_b = Profile({_name("zixuan", "xuan")}, {_day(2015, 3, 5)}, set())
    nameless = Profile(set(), {Birth(2015)}, set())
    assert may_join(twin_a, nameless, policy)
    twin_a.absorb(nameless)
    assert not may_join(twin_a, twin_b, policy)
    # the rules are policy: switched off, only the ID numbers' rule is left
    relaxed = LinkagePolicy(names_must_agree=False, birth_dates_must_agree=False)
    assert may_join(twin_a, twin_b, relaxed)
    assert not may_join(Profile(ids={"a"}), Profile(ids={"b"}), relaxed)
    assert may_join(Profile(ids={"a"}), Profile(ids={"a"}), relaxed)
