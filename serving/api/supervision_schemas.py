"""Request and response bodies of supervision (pydantic): the counts of decisions by
worker, district and reason, and a child's assignment to a caseworker."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from serving.api.schemas import Strict, UtcDateTime
from serving.limits import NOTE, USER_NAME, field


class TallyOut(BaseModel):
    """Decisions and overrides of one worker, district or reason in the period."""

    key: str = Field(description="the worker's user name, the district or the reason code")
    decisions: int
    overrides: int
    override_rate: float | None = Field(description="overrides / decisions; None when none")


class SummaryOut(BaseModel):
    """How decisions went in the supervisor's districts over the period: every decision
    recorded counts (a later one about the same child too)."""

    districts: list[str]
    days: int
    since: UtcDateTime
    decisions: int
    overrides: int
    by_worker: list[TallyOut]
    by_district: list[TallyOut]
    by_reason: list[TallyOut] = Field(description="decisions that gave a reason, by reason")
    batch_as_of: date | None = Field(description="the latest batch's as-of date, if any")
    not_yet_reviewed: list[str] = Field(
        description="child ids of the latest batch flagged with no decision since it "
        "(the first ``limit``)"
    )
    more_not_yet_reviewed: bool


class AssignmentIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"assignee": "wang.li", "note": "she knows the family"},
                {"assignee": None, "note": "back to the district's queue"},
            ]
        },
    )

    assignee: str | None = field(
        USER_NAME,
        description="an active caseworker or supervisor of the child's district; null to unassign",
    )
    note: str = field(NOTE, "")


class AssignmentOut(BaseModel):
    """An assignment as stored (append-only: the latest per child is the current one)."""

    id: int
    child_id: str
    district: str
    assignee: str | None
    assigned_by: str
    note: str
    created_at: UtcDateTime
