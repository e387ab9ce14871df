"""Monitoring: a batch's checks of its inputs, features and scores, for an agency's
dashboards. No child's data: counts per source and district, features' PSI, flags per
district."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from serving.access import Caller
from serving.api.deps import Svc, allow
from serving.api.schemas import ErrorOut, UtcDateTime
from serving.audit import Action
from serving.monitoring import read_monitoring, read_outcomes
from serving.vocabulary import MONITORING_ROLES

router = APIRouter(tags=["monitoring"])


class CheckOut(BaseModel):
    """One check: ``kind`` (volume, late, missing, linkage, scores, flags, drift), its
    ``subject`` (a source, ``source/district``, ``event_type column``, ``source how``, a
    district, a feature), the batch's ``value`` beside the ``expected`` one (volume:
    records in the week before the batch and the trailing weeks' median; late: median
    days from occurrence to recording; missing and linkage: shares; scores and drift:
    PSI against the training population, expected 0; flags: children reaching the
    flagging tier and the last batches' mean), and the ``problem`` or null."""

    kind: str
    subject: str
    value: float
    expected: float
    problem: str | None = Field(
        description="silent, halved, doubled, late, missing, linkage, shifted, rose, fell, "
        "no_reference; moderate (a moderate shift, not counted as a problem); null: none"
    )


class BatchChecksOut(BaseModel):
    batch_id: int
    as_of: date
    model_version: str
    created_at: UtcDateTime
    checks: int
    problems: int


class MonitoringOut(BaseModel):
    """A batch's checks, judged by the monitoring policy (``policy_sha256``) when it was
    written, its problems first; and the recent batches with their problem counts."""

    batch_id: int
    policy_sha256: str | None = Field(description="null: a batch written before monitoring")
    checked: int
    problems: list[CheckOut]
    checks: list[CheckOut]
    batches: list[BatchChecksOut]


class IntervalOut(BaseModel):
    value: float | None
    low: float | None
    high: float | None


class GroupOutcomeOut(BaseModel):
    """One group's outcomes: its children, outcomes and flags; AUC (Hanley-McNeil 95%
    interval), precision at the flags and observed rate (Jeffreys 95% intervals) beside
    the mean calibrated rate; ``small``: under 100 children or 10 outcomes."""

    attribute: str
    group: str
    n: int
    positives: int
    flagged: int
    auc: IntervalOut
    precision: IntervalOut
    observed_rate: IntervalOut
    mean_rate: float
    small: bool


class ScoreOutcomeOut(BaseModel):
    score: int
    n: int
    positives: int
    outcome_rate: float | None
    mean_probability: float | None


class OutcomesOut(BaseModel):
    """How a past batch's scores turned out once its horizon passed, judged by the model
    that scored it: the evaluation's figures on the batch's rows, calibration by score,
    and each group's."""

    batch_id: int
    as_of: date
    model_version: str
    horizon_days: int
    n: int
    positives: int
    base_rate: float
    roc_auc: float
    average_precision: float
    brier: float
    ece: float
    flagged: int
    precision_at_flags: float | None
    recall_at_flags: float
    by_score: list[ScoreOutcomeOut]
    groups: list[GroupOutcomeOut]
    judged_at: UtcDateTime | None = Field(
        description="when the report was kept: the first batch written after the horizon "
        "passed judges it; null: judged now, on asking (not kept)"
    )


@router.get(
    "/v1/monitoring/outcomes",
    response_model=OutcomesOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def outcomes(
    caller: Annotated[Caller, allow(Action.READ_MONITORING, *MONITORING_ROLES)],
    service: Svc,
    batch_id: Annotated[int, Query(ge=1, le=2**31 - 1, description="a past batch")],
) -> OutcomesOut:
    """Supervisors, analysts and admins: once a batch's horizon has passed (409
    ``not_matured`` before), its AUC, precision at the flags and calibration, overall and
    by area, district, hukou, sex and disability, with intervals. The report kept when the
    batch was judged; a batch not judged yet is judged on asking from the store's records
    as they are now. Audited."""
    return OutcomesOut(**read_outcomes(service, caller, batch_id))


@router.get("/v1/monitoring", response_model=MonitoringOut, responses={404: {"model": ErrorOut}})
def monitoring(
    caller: Annotated[Caller, allow(Action.READ_MONITORING, *MONITORING_ROLES)],
    service: Svc,
    batch_id: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="default: the latest batch")
    ] = None,
) -> MonitoringOut:
    """Supervisors, analysts and admins: a batch's monitoring checks (sources gone silent,
    halved or doubled; late recording; empty columns; linkage shares; features' drift;
    scores; flags per district) and the recent batches' problem counts. Audited."""
    return MonitoringOut(**read_monitoring(service, caller, batch_id))
