"""What would change a child's score: the score without a factor's records, and without
each record behind a raised score, for the caseworker who asks "if you take this out,
what score would this child get?".

Exact, never approximated: each answer rescores the child by the one scoring path
(serving.explain.explain_child, the batch's own kernels on the household) on the
household's records less the records taken out, so a count, a recency, a highest
severity and an interaction all move as a rebuilt export would move them. Only the
score is asked of each rescoring (no factors), and one household is small, so the
answers cost a few milliseconds each; ``MOST_RECORDS`` bounds the records asked about
one by one (the most recent first) so a child with hundreds of records still answers
at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Final

import polars as pl

import features.schema as s
from features.household import Household
from models.flagging import FlaggingPolicy
from models.riskmodel import RiskModel
from serving.errors import NotScorableError
from serving.explain import RiskView, explain_child

MOST_RECORDS: Final = 40


@dataclass(frozen=True)
class Without:
    """The child's score with ``event_ids`` taken out (None: outside the model's
    population without them)."""

    event_ids: tuple[str, ...]
    score_1_20: int | None
    probability: float | None


@dataclass(frozen=True)
class WhatIf:
    """Per factor with records (by factor name), the score without all of them; per
    record behind a factor that raises the score (by record id), the score without it;
    per household member whose records count for the child (association features, by
    the member's child id), the score without that member's records, which is the score
    the child would have with the member marked apart (features.separations)."""

    score_1_20: int
    probability: float
    by_factor: dict[str, Without]
    by_record: dict[str, Without]
    records_left_out: int  # records behind raising factors beyond MOST_RECORDS
    by_member: dict[str, Without]


def what_if(
    model: RiskModel,
    household: Household,
    view: RiskView,
    policy: FlaggingPolicy,
) -> WhatIf:
    """The scores ``view``'s child would have without each factor's records and without
    each record behind a raising factor (the most recent first)."""
    answers: dict[frozenset[str], Without] = {}  # factors often share their records

    def answer(ids: tuple[str, ...]) -> Without:
        key = frozenset(ids)
        if key not in answers:
            answers[key] = without(model, household, view.child_id, view.as_of, policy, ids)
        return Without(ids, answers[key].score_1_20, answers[key].probability)

    by_factor = {f.factor: answer(f.event_ids) for f in view.factors if f.event_ids}
    raising = list(dict.fromkeys(i for f in view.factors if f.log_odds > 0 for i in f.event_ids))
    events = household.events
    occurred = dict(zip(events[s.EVENT_ID].to_list(), events[s.OCCURRED_AT].to_list(), strict=True))
    raising.sort(key=lambda i: (occurred.get(i) is not None, occurred.get(i)), reverse=True)
    asked = raising[:MOST_RECORDS]
    by_record = {i: answer((i,)) for i in asked}
    by_member = {m: answer(ids) for m, ids in members_behind(household, view).items()}
    return WhatIf(
        view.score_1_20,
        view.probability,
        by_factor,
        by_record,
        len(raising) - len(asked),
        by_member,
    )


def members_behind(household: Household, view: RiskView) -> dict[str, tuple[str, ...]]:
    """The household members (other children) whose records are behind ``view``'s
    factors, with those records: only association factors list another child's."""
    events = household.events
    owner = dict(zip(events[s.EVENT_ID].to_list(), events[s.CHILD_ID].to_list(), strict=True))
    theirs: dict[str, dict[str, None]] = {}
    for factor in view.factors:
        for event_id in factor.event_ids:
            member = owner.get(event_id)
            if member is not None and member != view.child_id:
                theirs.setdefault(member, {})[event_id] = None
    return {member: tuple(ids) for member, ids in sorted(theirs.items())}


def without(
    model: RiskModel,
    household: Household,
    child_id: str,
    as_of: date,
    policy: FlaggingPolicy,
    event_ids: Iterable[str],
) -> Without:
    """The child's score on ``as_of`` with ``event_ids`` taken out of the household."""
    ids = tuple(event_ids)
    kept = household.events.filter(~pl.col(s.EVENT_ID).is_in(list(ids)))
    less = replace(household, events=kept)
    try:
        view = explain_child(model, less, child_id, as_of, policy, top=0)
    except NotScorableError:
        return Without(ids, None, None)
    return Without(ids, view.score_1_20, view.probability)


_SAID: Final = {
    "en": {
        "other": "Without these {n} records the score would be {after} instead of {now}.",
        "one": "Without this record the score would be {after} instead of {now}.",
        "same_other": "Without these {n} records the score would stay {now}.",
        "same_one": "Without this record the score would stay {now}.",
        "none_other": "Without these {n} records the child would be outside the model's "
        "population on this date (not scored).",
        "none_one": "Without this record the child would be outside the model's population "
        "on this date (not scored).",
    },
    "zh-CN": {
        "other": "没有这{n}条记录，分数将是{after}，而不是{now}。",
        "one": "没有这条记录，分数将是{after}，而不是{now}。",
        "same_other": "没有这{n}条记录，分数仍是{now}。",
        "same_one": "没有这条记录，分数仍是{now}。",
        "none_other": "没有这{n}条记录，该儿童在这一日期不在模型的评分人群之内（不评分）。",
        "none_one": "没有这条记录，该儿童在这一日期不在模型的评分人群之内（不评分）。",
    },
}


def statement(found: Without, now: int, language: str) -> str:
    """``found`` in plain words ("Without these 3 records the score would be 11 instead
    of 17."), in ``language`` (en or zh-CN)."""
    said = _SAID["zh-CN" if language == "zh-CN" else "en"]
    count = "one" if len(found.event_ids) == 1 else "other"
    if found.score_1_20 is None:
        key = f"none_{count}"
    elif found.score_1_20 == now:
        key = f"same_{count}"
    else:
        key = count
    return said[key].format(n=len(found.event_ids), after=found.score_1_20, now=now)
