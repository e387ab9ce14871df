"""A stored child's score just before and just after a change to what it is read from (a
record's correction, a household member marked apart), by the one scoring path
(serving.explain) on the household read as it is and as it will be, on the date the
child page shows (the latest batch's, else the export's). Corrections and household
control both store what this returns with the change."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import polars as pl

from serving.champion import ModelUnavailableError
from serving.errors import InvalidError
from serving.explain import RiskView, explain_child
from serving.service import Service
from serving.store import children as stored
from serving.store.corrections import Rescored
from serving.store.queue import latest_batch

MOVED_POINTS: Final = 0.05  # a factor moved when its points changed by more than this


def rescore(
    service: Service,
    child: stored.ChildRef,
    pending: pl.DataFrame | None = None,
    separating: pl.DataFrame | None = None,
) -> Rescored | None:
    """The child's score before and after the ``pending`` corrections (features.corrections)
    or the ``separating`` marking (features.separations), or None with no model loaded or
    no export to date it."""
    try:
        served = service.served()
    except ModelUnavailableError:
        return None
    day = score_date(service)
    if day is None:
        return None
    before = view_on(service, child, day)
    after = view_on(service, child, day, pending, separating)
    return Rescored(
        model_version=served.version,
        as_of=day,
        score_before=before.score_1_20 if before else None,
        score_after=after.score_1_20 if after else None,
        rate_before=before.probability if before else None,
        rate_after=after.probability if after else None,
        moved=moved_factors(before, after),
    )


def score_date(service: Service) -> date | None:
    """The date a stored child is scored on: the latest batch's, else the export's."""
    with service.engine.connect() as connection:
        batch = latest_batch(connection)
        until = stored.exported_at(connection)
    if batch is not None:
        return batch.as_of
    return until.date() if until else None


def view_on(
    service: Service,
    child: stored.ChildRef,
    day: date,
    pending: pl.DataFrame | None = None,
    separating: pl.DataFrame | None = None,
) -> RiskView | None:
    """The child's score and factors on ``day``, or None outside the population."""
    household = stored.household(service.engine, child, service.deployment, pending, separating)
    try:
        model = service.served().model
        return explain_child(model, household, child.child_id, day, service.flagging, top=None)
    except InvalidError:  # not scorable on the day: outside the population
        return None


def moved_factors(before: RiskView | None, after: RiskView | None) -> list[dict[str, Any]]:
    """The factors whose points changed, with their points before and after."""
    points_before = {f.factor: f.points for f in before.factors} if before else {}
    points_after = {f.factor: f.points for f in after.factors} if after else {}
    moved = []
    for factor in dict.fromkeys([*points_before, *points_after]):
        old, new = points_before.get(factor, 0.0), points_after.get(factor, 0.0)
        if abs(new - old) > MOVED_POINTS:
            moved.append(
                {"factor": factor, "points_before": round(old, 2), "points_after": round(new, 2)}
            )
    return moved
