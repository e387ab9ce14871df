"""Request and response bodies of the API (pydantic), with the examples OpenAPI shows.

Case-history fields follow the data contract's columns one to one; values are checked
by the contract's own rules (features.contract.check_tables) after these shapes, so a
request is held to exactly what an agency export is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from serving.i18n import Language
from serving.limits import IDENTIFIER, NOTE, USER_NAME, field
from serving.vocabulary import DecisionAction, OverrideReason, Role, Tier, literal

# The store keeps naive timestamps: UTC when the service wrote the row (answered with its
# offset, as the "date-time" format requires), the agency's local time for case events
# (answered as recorded, without an offset, and so not declared "date-time").
UtcDateTime = Annotated[
    datetime, AfterValidator(lambda at: at if at.tzinfo else at.replace(tzinfo=UTC))
]
LocalDateTime = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
            "description": "local time of the deployment, no offset",
        }
    ),
]


# the closed vocabularies (serving.vocabulary) as the literal strings OpenAPI shows
if TYPE_CHECKING:  # a code is a str to the type checker; pydantic checks the literal
    TierField: TypeAlias = str
    RoleField: TypeAlias = str
    ActionField: TypeAlias = str
    ReasonField: TypeAlias = str
else:
    TierField, RoleField = literal(Tier), literal(Role)
    ActionField, ReasonField = literal(DecisionAction), literal(OverrideReason)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(most: int, description: str | None = None, default: Any = ...) -> Any:
    """A string field of at most ``most`` characters, no control character."""
    return field(IDENTIFIER.at_most(most), default, description)


class ChildIn(Strict):
    child_id: str = field(IDENTIFIER, description="the data contract's child_id")
    birth_date: str = _text(64, "YYYY-MM-DD")
    sex: str = _text(16, "F, M or U")
    district: str = field(IDENTIFIER, description="a district of the deployment")
    hukou: str = _text(32, "local, nonlocal, none or unknown")
    ethnicity: str = _text(32, "han, minority or unknown")
    household_id: str | None = _text(128, default=None)


class EventIn(Strict):
    event_id: str = _text(128)
    child_id: str = field(IDENTIFIER, description="the child's child_id")
    event_type: str = _text(64, "a contract event type")
    occurred_at: str = _text(64, "local time, YYYY-MM-DD HH:MM[:SS]")
    recorded_at: str = _text(64, "local time, YYYY-MM-DD HH:MM[:SS]")
    severity: int | None = Field(None, ge=-32768, le=32767)
    amount: float | None = Field(None, allow_inf_nan=False)
    detail: str | None = _text(64, default=None)


SCORE_EXAMPLE: dict[str, Any] = {
    "as_of": "2025-12-31",
    "child": {
        "child_id": "BJ00000001",
        "birth_date": "2014-05-02",
        "sex": "F",
        "district": "Xicheng",
        "hukou": "local",
        "ethnicity": "han",
        "household_id": None,
    },
    "events": [
        {
            "event_id": "E1",
            "child_id": "BJ00000001",
            "event_type": "report.concern",
            "occurred_at": "2025-10-02 09:30",
            "recorded_at": "2025-10-02 11:00",
            "severity": 2,
            "amount": None,
            "detail": "school",
        }
    ],
}


class ScoreRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SCORE_EXAMPLE]})

    as_of: date
    child: ChildIn
    events: list[EventIn] = Field(max_length=1_000_000)


# where a record came from (serving.store.provenance): each null for a record the
# service's linkage did not join (an unlinked store, a posted case history)
SourceOut = Annotated[
    str | None,
    Field(
        description="the partner's system the record came from: welfare, reports, "
        "community, social_aid, education, health or police"
    ),
]
SourceRecordOut = Annotated[str | None, Field(description="the partner's own record id")]
LinkHowOut = Annotated[
    str | None,
    Field(
        description="how linkage joined the record to the child: id_number (the same "
        "usable ID number), match (the model), review (a records officer's decision) or "
        "single (the record stands alone)"
    ),
]
LinkProbabilityOut = Annotated[
    float | None,
    Field(description="the match probability of the strongest link that joined the record"),
]


class EvidenceEventOut(BaseModel):
    """A record behind a factor, and where it came from."""

    event_id: str
    source: SourceOut
    source_record_id: SourceRecordOut
    link_how: LinkHowOut
    link_probability: LinkProbabilityOut


class FactorOut(BaseModel):
    factor: str = Field(description="the feature (or 'A & B' for an interaction)")
    features: list[str]
    label: str = Field(description="the feature's name in plain words, in the language asked for")
    value: Any = Field(description="the feature's value on the as-of date")
    fact: str = Field(
        description="the value said as a fact about the child, with its unit "
        "(e.g. 'Concern reports in the last 30 days: 2', 'Aged 1')"
    )
    note: str | None = Field(
        default=None,
        description="why the value can be lower than the records a case history lists "
        "(the retention policy), where it applies",
    )
    log_odds: float = Field(description="contribution to the calibrated log-odds")
    points: float = Field(description="contribution in scorecard points (20 double the odds)")
    direction: Literal["raises", "lowers"]
    event_ids: list[str] = Field(description="the records behind the value")
    evidence: list[EvidenceEventOut] = Field(
        description="the same records in the same order, each with where it came from"
    )


class ModelRef(BaseModel):
    version: str
    family: str


class RiskOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "child_id": "BJ00000001",
                    "district": "Xicheng",
                    "as_of": "2025-12-31",
                    "probability": 0.0515,
                    "score_1_20": 19,
                    "tier": "urgent",
                    "flagged": True,
                    "flag_basis": "within Xicheng's capacity in batch 3",
                    "rate_statement": "Of past children with records like these, about 5 in "
                    "100 had an urgent intervention recorded within 180 days.",
                    "base_log_odds": -4.2,
                    "base_points": -120.0,
                    "factors": [
                        {
                            "factor": "report_concern__count_all",
                            "features": ["report_concern__count_all"],
                            "label": "concern reports in all recorded history",
                            "value": 3,
                            "log_odds": 0.46,
                            "points": 14.0,
                            "direction": "raises",
                            "event_ids": ["E1", "E7", "E9"],
                            "evidence": [
                                {
                                    "event_id": event_id,
                                    "source": "reports",
                                    "source_record_id": record,
                                    "link_how": how,
                                    "link_probability": probability,
                                }
                                for event_id, record, how, probability in (
                                    ("E1", "BG00012345", "id_number", 1.0),
                                    ("E7", "BG00012391", "match", 0.997),
                                    ("E9", "BG00013007", "review", None),
                                )
                            ],
                        }
                    ],
                    "factors_total": 23,
                    "model": {"version": "4", "family": "scorecard"},
                    "language": "en",
                }
            ]
        }
    )

    child_id: str
    district: str
    as_of: date
    probability: float = Field(
        description="calibrated rate of the recorded outcome among past children whose "
        "records looked like this (not a probability of harm)"
    )
    score_1_20: int = Field(ge=1, le=20)
    tier: TierField
    flagged: bool
    flag_basis: str
    rate_statement: str
    base_log_odds: float
    base_points: float
    factors: list[FactorOut]
    factors_total: int = Field(description="factors with a non-zero contribution")
    model: ModelRef
    language: Language


class EventOut(BaseModel):
    event_id: str
    event_type: str
    occurred_at: LocalDateTime
    recorded_at: LocalDateTime
    severity: int | None
    amount: float | None
    detail: str | None
    source: SourceOut
    source_record_id: SourceRecordOut
    link_how: LinkHowOut
    link_probability: LinkProbabilityOut
    correction: Literal["disputed", "corrected"] | None = Field(
        None,
        description="disputed: confirmed wrong, not used by the score; corrected: shown "
        "and used as amended (GET /v1/children/{child_id}/corrections says by whom and why)",
    )


class HistoryOut(BaseModel):
    child_id: str
    district: str
    sources: dict[str, list[EventOut]] = Field(
        description="events by kind (the event type before the dot), oldest first; each "
        "event's own `source` is the partner system its record came from"
    )


class Reason(BaseModel):
    factor: str
    label: str
    value: Any = Field(None, description="the feature's value (null for an interaction)")
    log_odds: float
    points: float


class FlagItem(BaseModel):
    child_id: str
    district: str
    score_1_20: int
    tier: str
    probability: float
    flagged: bool
    reasons: list[Reason]
    decided_at: UtcDateTime | None


class BatchOut(BaseModel):
    id: int
    as_of: date
    model_version: str
    children: int
    flagged: int
    created_at: UtcDateTime
    created_by: str
    outcomes_judged: list[int] = Field(
        default=[],
        description="the earlier batches whose horizon had passed and whose outcomes this "
        "batch's writing judged and kept (GET /v1/monitoring/outcomes)",
    )


class FlagPage(BaseModel):
    batch: BatchOut | None
    items: list[FlagItem]
    next_cursor: str | None


class DecisionIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "action": "home_visit",
                    "agrees": True,
                    "reason_code": None,
                    "note": "visit on Thursday with the community child director",
                },
                {
                    "action": "no_action",
                    "agrees": False,
                    "reason_code": "already_served",
                    "note": "the family joined the district's support programme last week",
                },
            ]
        },
    )

    action: ActionField
    agrees: bool = Field(description="true: agrees with the flag; false: overrides it")
    reason_code: ReasonField | None = Field(None, description="required when overriding")
    note: str = field(NOTE, "")


class DecisionOut(BaseModel):
    id: int
    child_id: str
    district: str
    user_name: str
    role: str
    action: str
    agrees: bool
    reason_code: str | None
    note: str
    batch_id: int | None
    score_1_20: int | None
    model_version: str | None
    created_at: UtcDateTime


class BatchRequest(Strict):
    as_of: date | None = Field(None, description="default: the latest export's date")


class ReloadOut(BaseModel):
    version: str | None
    changed: bool
    error: str | None


class AuditOut(BaseModel):
    at: UtcDateTime
    user_name: str
    role: str
    action: str
    child_id: str | None
    district: str | None
    client: str | None
    outcome: str


class Problem(BaseModel):
    field: str | None = Field(description="where: body.events[3].severity, query.limit, ...")
    rule: str
    message: str
    count: int | None = None


class ErrorOut(BaseModel):
    error: str
    message: str
    problems: list[Problem] = []


class UserIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "wang.li", "role": "caseworker", "districts": ["Chaoyang"]}]
        },
    )

    name: str = field(USER_NAME)
    role: RoleField
    districts: list[Annotated[str, field(IDENTIFIER)]] = Field([], max_length=64)
    expires_days: int | None = Field(90, ge=1, le=3650)


class UserOut(BaseModel):
    name: str
    role: str
    districts: list[str]
    active: bool
    live_tokens: int


class TokenOut(BaseModel):
    name: str
    token: str = Field(description="shown once: only its hash is stored")


class TokenIn(Strict):
    expires_days: int | None = Field(90, ge=1, le=3650)


class RevokedOut(BaseModel):
    name: str
    revoked: int
