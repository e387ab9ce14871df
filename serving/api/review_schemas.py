"""Request and response bodies of the linkage review queue (pydantic): pairs of records
with what each comparison found, records officers' decisions, caseworkers' requests.

A pair's records carry identity data as the partners typed it (names, ID numbers,
addresses, guardians): these bodies are answered to records officers only, whose work
it is to read them (serving.review). The closed vocabularies come from
serving.vocabulary."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from serving.api.schemas import Strict, UtcDateTime
from serving.limits import IDENTIFIER, NOTE, field
from serving.store.review import REASON
from serving.vocabulary import Evidence, LinkRequestKind, PairDecision, literal

if TYPE_CHECKING:  # a code is a str to the type checker; pydantic checks the literal
    PairDecisionField: TypeAlias = str
    LinkRequestKindField: TypeAlias = str
    EvidenceField: TypeAlias = str
else:
    PairDecisionField, LinkRequestKindField = literal(PairDecision), literal(LinkRequestKind)
    EvidenceField = literal(Evidence)


class RecordOut(BaseModel):
    """One source record of a pair: where it comes from, the child the latest linkage
    joined it to, and its compared values as typed (None: not given)."""

    source: str = Field(description="the partner's system")
    record_id: str = Field(description="the partner's own record id")
    child_id: str = Field(description="the child the latest linkage joined it to")
    district: str | None
    name: str | None
    id_number: str | None
    birth_date: str | None
    sex: str | None
    address: str | None
    guardian_name: str | None
    guardian_phone: str | None


class FieldOut(BaseModel):
    """What one comparison found between the two records."""

    comparison: str = Field(
        description="name, birth_date, sex, district, address, id_number or family"
    )
    level: str = Field(description="the level reached, in the linkage model's words")
    weight: float = Field(
        description="the level's weight in bits (log2 of its Bayes factor): positive "
        "moved the pair towards one child, negative towards two; 0 when missing"
    )
    evidence: EvidenceField = Field(description="the weight in words (its sign and size)")
    left: str | None = Field(description="the left record's compared value(s)")
    right: str | None = Field(description="the right record's compared value(s)")


class PairDecisionOut(BaseModel):
    """A decision on two records, as stored (append-only: a later one supersedes)."""

    id: int
    source_l: str
    record_id_l: str
    source_r: str
    record_id_r: str
    decision: PairDecisionField
    note: str
    request_id: int | None = Field(description="the link request it answered, if any")
    user_name: str
    created_at: UtcDateTime


class PairOut(BaseModel):
    """A pair of records in the review band: the two records side by side, each
    comparison's level and weight, and the latest decision on it (None while open)."""

    id: int = Field(description="the pair's id in the latest linked load")
    match_probability: float = Field(description="the linkage model's probability")
    left: RecordOut
    right: RecordOut
    fields: list[FieldOut]
    decided: PairDecisionOut | None


class PairPage(BaseModel):
    """Open pairs, most consequential first (a pair that could change a flag before one
    that could not), then the most probable."""

    items: list[PairOut]
    next_cursor: str | None


class PairDecisionIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "same", "note": "same guardian and address; birth date typo"},
                {"decision": "different", "note": "twins: different names at school"},
            ]
        },
    )

    decision: PairDecisionField = Field(
        description="same: one child (always linked); different: two children (never "
        "linked); unsure: off the queue, no link changed"
    )
    note: str = field(NOTE, "")


class PairDecidedOut(PairDecisionOut):
    pair_id: int


class LinkRequestIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "merge",
                    "other_child_id": "C000000123",
                    "reason": "the same girl: her mother registered her twice at school",
                },
                {"kind": "split", "reason": "two brothers' hospital records are on this child"},
            ]
        },
    )

    kind: LinkRequestKindField = Field(description="merge: two children are one; split: one is two")
    other_child_id: str | None = field(
        IDENTIFIER, None, "merge: the other child's id (stored as given, checked by the officers)"
    )
    reason: str = field(REASON, description="why: what the records officers should look at")


class LinkRequestOut(BaseModel):
    id: int
    kind: LinkRequestKindField
    child_id: str
    other_child_id: str | None
    district: str = Field(description="the child's district (whose officers see it)")
    reason: str
    user_name: str
    role: str
    created_at: UtcDateTime


class LinkedRecordOut(BaseModel):
    source: str
    record_id: str
    how: str = Field(description="how linkage joined it: id_number, match, review, single")


class RequestedChildOut(BaseModel):
    """A child a request names: who they are and their records (no district and no
    records: the store holds no such child)."""

    child_id: str
    district: str | None
    name: str | None
    id_number: str | None
    birth_date: str | None
    sex: str | None
    records: list[LinkedRecordOut]


class OpenRequestOut(LinkRequestOut):
    children: list[RequestedChildOut]


class RequestDecisionIn(Strict):
    """A decision on two records that answers a request: one record of each child for a
    merge, two records of the child for a split."""

    source_l: str = field(IDENTIFIER.at_most(32))
    record_id_l: str = field(IDENTIFIER)
    source_r: str = field(IDENTIFIER.at_most(32))
    record_id_r: str = field(IDENTIFIER)
    decision: PairDecisionField
    note: str = field(NOTE, "")
